import { Column, Entity, PrimaryColumn } from 'typeorm';
import { OrgRole } from './org-roles';

@Entity('org_members')
export class OrgMemberEntity {
  @PrimaryColumn({ name: 'org_id', type: 'uuid' })
  orgId: string;

  @PrimaryColumn({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ type: 'text' })
  role: OrgRole;

  @Column({ name: 'created_at', type: 'timestamptz', insert: false, update: false })
  createdAt: Date;
}
