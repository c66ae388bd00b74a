import { NotFoundException, ParseUUIDPipe } from '@nestjs/common';

/** A path id that is not a UUID names nothing: 404, as for an id that does not exist. */
export const ParseIdPipe = new ParseUUIDPipe({
  exceptionFactory: () => new NotFoundException({ code: 'not_found', message: 'Not found' }),
});
