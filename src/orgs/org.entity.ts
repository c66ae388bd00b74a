import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

@Entity('orgs')
export class OrgEntity {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'text' })
  name: string;

  @Column({ name: 'plan_code', type: 'text' })
  planCode: string;

  @Column({ name: 'created_at', type: 'timestamptz', insert: false, update: false })
  createdAt: Date;
}
