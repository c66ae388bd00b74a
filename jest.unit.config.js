/** `npm run test:unit`: the specs beside the code, with no database started (no global setup). */
const base = require('./jest.config');

module.exports = {
  ...base,
  testRegex: ['src/.*\\.spec\\.ts$'],
  globalSetup: undefined,
  globalTeardown: undefined,
};
