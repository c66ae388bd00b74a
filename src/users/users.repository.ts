import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { NewestFirst } from '../common/pagination';
import { UserEntity } from './user.entity';

export interface UserWithHash {
  id: string;
  email: string;
  passwordHash: string;
}

const USER_COLUMNS = `id, email, is_platform_admin AS "isPlatformAdmin", created_at AS "createdAt"`;

@Injectable()
export class UsersRepository {
  constructor(@InjectRepository(UserEntity) private readonly users: Repository<UserEntity>) {}

  /** Inserts a user; a duplicate email surfaces as the unique violation of `users_email_key`. */
  async insertUser(
    email: string,
    passwordHash: string,
    isPlatformAdmin = false,
  ): Promise<UserEntity> {
    const rows: UserEntity[] = await this.users.query(
      `INSERT INTO users (email, password_hash, is_platform_admin) VALUES ($1, $2, $3)
       RETURNING ${USER_COLUMNS}`,
      [email, passwordHash, isPlatformAdmin],
    );
    return rows[0];
  }

  findById(id: string): Promise<UserEntity | null> {
    return this.users.findOne({ where: { id } });
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.users.findOne({ where: { email } });
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

  /** Sets or clears the flag; the user, or null when there is none with that id. */
  async setPlatformAdmin(id: string, isPlatformAdmin: boolean): Promise<UserEntity | null> {
    const [rows]: [UserEntity[], number] = await this.users.query(
      `UPDATE users SET is_platform_admin = $2 WHERE id = $1 RETURNING ${USER_COLUMNS}`,
      [id, isPlatformAdmin],
    );
    return rows[0] ?? null;
  }

  /**
   * Revokes the flag unless `id` is the last platform admin: decided under a lock on the admins,
   * so two revokes at once cannot leave none. Answers whether it was revoked.
   */
  async revokePlatformAdminUnlessLast(id: string): Promise<'revoked' | 'last' | 'not_admin'> {
    return this.users.manager.transaction(async (manager) => {
      const admins: { id: string }[] = await manager.query(
        `SELECT id FROM users WHERE is_platform_admin ORDER BY id FOR UPDATE`,
      );
      if (!admins.some((a) => a.id === id)) return 'not_admin';
      if (admins.length === 1) return 'last';
      await manager.query(`UPDATE users SET is_platform_admin = false WHERE id = $1`, [id]);
      return 'revoked';
    });
  }

  /** Platform admins, oldest first, `limit + 1` rows after `after`. */
  listPlatformAdmins(limit: number, after?: NewestFirst): Promise<UserEntity[]> {
    return this.users.query(
      `SELECT ${USER_COLUMNS} FROM users
        WHERE is_platform_admin
          AND ($1::timestamptz IS NULL OR (created_at, id) > ($1::timestamptz, $2::uuid))
        ORDER BY created_at, id
        LIMIT $3`,
      [after?.[0] ?? null, after?.[1] ?? null, limit + 1],
    );
  }
}
