import { ConflictException, Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../database/database-errors';
import { UserEntity } from './user.entity';
import { UsersRepository } from './users.repository';

export interface UserView {
  id: string;
  email: string;
  createdAt: string;
}

export function toUserView(user: Pick<UserEntity, 'id' | 'email' | 'createdAt'>): UserView {
  return { id: user.id, email: user.email, createdAt: new Date(user.createdAt).toISOString() };
}

@Injectable()
export class UsersService {
  constructor(private readonly users: UsersRepository) {}

  /** `email` is already normalised, `passwordHash` already computed. */
  async create(email: string, passwordHash: string): Promise<UserView> {
    try {
      return toUserView(await this.users.insertUser(email, passwordHash));
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) {
        throw new ConflictException({
          code: 'email_taken',
          message: 'An account with this email already exists',
        });
      }
      throw error;
    }
  }

  async findById(id: string): Promise<UserView | null> {
    const user = await this.users.findById(id);
    return user ? toUserView(user) : null;
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.users.findByEmail(email);
  }

  findCredentials(email: string) {
    return this.users.findCredentialsByEmail(email);
  }
}
