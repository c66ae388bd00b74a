import { QueryFailedError } from 'typeorm';
import { loggableError } from './http-exception.filter';

describe('loggableError', () => {
  it('keeps the class, message and driver code of a query error but never its parameters or detail', () => {
    const driverError = Object.assign(
      new Error('duplicate key value violates unique constraint "users_email_key"'),
      {
        code: '23505',
        detail: 'Key (email)=(ann@example.com) already exists.',
      },
    );
    const error = new QueryFailedError(
      'INSERT INTO users (email, password_hash) VALUES ($1, $2)',
      ['ann@example.com', '$argon2id$v=19$secret'],
      driverError,
    );
    const logged = JSON.stringify(loggableError(error));
    expect(loggableError(error)).toMatchObject({ type: 'QueryFailedError', code: '23505' });
    expect(logged).not.toContain('$argon2id');
    expect(logged).not.toContain('ann@example.com');
  });

  it('describes a thrown non-error by its type only', () => {
    expect(loggableError('mk_live_secret')).toEqual({ type: 'string' });
  });
});
