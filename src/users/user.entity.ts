import { Check, Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * The one table read through a TypeORM entity; the others are read with SQL in their
 * repositories. Declared in full (index, check, defaults) so that `migration:generate` finds no
 * drift against the hand-written migrations.
 */
@Entity('users')
@Index('users_email_key', ['email'], { unique: true })
@Check('users_email_lower', 'email = lower(email)')
@Index('users_platform_admins_idx', ['createdAt', 'id'], { where: 'is_platform_admin' })
export class UserEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Always trimmed and lower-cased (see `normalizeEmail`). */
  @Column({ type: 'text' })
  email: string;

  @Column({ name: 'password_hash', type: 'text', select: false })
  passwordHash: string;

  /** Manages the catalogue. Set by the start-up bootstrap, `admin grant`, or another admin. */
  @Column({ name: 'is_platform_admin', type: 'boolean', default: false })
  isPlatformAdmin: boolean;

  @Column({
    name: 'created_at',
    type: 'timestamptz',
    insert: false,
    update: false,
    default: () => "date_trunc('milliseconds', clock_timestamp())",
  })
  createdAt: Date;
}
