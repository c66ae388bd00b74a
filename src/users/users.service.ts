import { Injectable } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { decodeCursor, NEWEST_FIRST, Page, PageQueryDto, toPage } from '../common/pagination';
import { isUniqueViolation } from '../database/database-errors';
import { UserEntity } from './user.entity';
import { UsersError } from './users.errors';
import { UsersRepository, UserWithHash } from './users.repository';

export interface UserView {
  id: string;
  email: string;
  createdAt: string;
}

export function toUserView(user: Pick<UserEntity, 'id' | 'email' | 'createdAt'>): UserView {
  return { id: user.id, email: user.email, createdAt: new Date(user.createdAt).toISOString() };
}

/** How long "this user exists" is believed without asking Postgres (JWTs are checked per request). */
const EXISTS_TTL_MS = 5_000;

@Injectable()
export class UsersService {
  private readonly existing = new LRUCache<string, { email: string }>({
    max: 50_000,
    ttl: EXISTS_TTL_MS,
  });

  constructor(private readonly users: UsersRepository) {}

  /** `email` is already normalised, `passwordHash` already computed. */
  async create(email: string, passwordHash: string, isPlatformAdmin = false): Promise<UserView> {
    try {
      return toUserView(await this.users.insertUser(email, passwordHash, isPlatformAdmin));
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key'))
        throw new UsersError('email_taken', 'An account with this email already exists');
      throw error;
    }
  }

  async findById(id: string): Promise<UserView | null> {
    const user = await this.users.findById(id);
    return user ? toUserView(user) : null;
  }

  /** The user behind a token, if it still exists (believed for a few seconds, per instance). */
  async findExisting(id: string): Promise<{ id: string; email: string } | null> {
    const cached = this.existing.get(id);
    if (cached) return { id, ...cached };
    const user = await this.users.findById(id);
    if (!user) return null;
    this.existing.set(id, { email: user.email });
    return { id, email: user.email };
  }

  findByEmail(email: string): Promise<UserEntity | null> {
    return this.users.findByEmail(email);
  }

  findCredentials(email: string): Promise<UserWithHash | null> {
    return this.users.findCredentialsByEmail(email);
  }

  /** Always read from Postgres: a revoked admin loses the catalogue at once, on every instance. */
  async isPlatformAdmin(id: string): Promise<boolean> {
    return (await this.users.findById(id))?.isPlatformAdmin ?? false;
  }

  /** Flags the user with that email; `granted` is false when it was an admin already. */
  async grantPlatformAdmin(email: string): Promise<{ user: UserView; granted: boolean }> {
    const user = await this.users.findByEmail(email);
    if (!user) throw new UsersError('user_not_found', 'No user with this email');
    if (user.isPlatformAdmin) return { user: toUserView(user), granted: false };
    const updated = await this.users.setPlatformAdmin(user.id, true);
    if (!updated) throw new UsersError('user_not_found', 'No user with this email');
    return { user: toUserView(updated), granted: true };
  }

  /** Clears the flag; the last platform admin cannot be revoked (nobody could manage the catalogue). */
  async revokePlatformAdmin(userId: string): Promise<void> {
    const outcome = await this.users.revokePlatformAdminUnlessLast(userId);
    if (outcome === 'not_admin')
      throw new UsersError('user_not_found', 'No platform admin with this id');
    if (outcome === 'last')
      throw new UsersError('last_platform_admin', 'The platform must keep at least one admin');
  }

  async listPlatformAdmins(page: PageQueryDto): Promise<Page<UserView>> {
    const after = decodeCursor(page.cursor, NEWEST_FIRST);
    const rows = await this.users.listPlatformAdmins(page.limit, after);
    return toPage(rows, page.limit, (u) => [u.createdAt, u.id], toUserView);
  }
}
