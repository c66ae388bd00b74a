import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, Repository } from 'typeorm';
import { UserEntity } from './user.entity';

export interface UserWithHash {
  id: string;
  email: string;
  passwordHash: string;
}

@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  /** Inserts a user; a duplicate email surfaces as the unique violation of `users_email_key`. */
  async insertUser(email: string, passwordHash: string): Promise<UserEntity> {
    const rows: UserEntity[] = await this.users.query(
      `INSERT INTO users (email, password_hash) VALUES ($1, $2)
       RETURNING id, email, created_at AS "createdAt"`,
      [email, passwordHash],
    );
    return rows[0];
  }

  findById(id: string): Promise<UserEntity | null> {
    return this.users.findOne({ where: { id } });
  }

  findByEmail(email: string, manager?: EntityManager): Promise<UserEntity | null> {
    const repo = manager ? manager.getRepository(UserEntity) : this.users;
    return repo.findOne({ where: { email } });
  }

  /** The only read of a password hash: for checking a login. */
  findCredentialsByEmail(email: string): Promise<UserWithHash | null> {
    return this.users
      .createQueryBuilder('u')
      .select(['u.id', 'u.email'])
      .addSelect('u.passwordHash')
      .where('u.email = :email', { email })
      .getOne();
  }
}
