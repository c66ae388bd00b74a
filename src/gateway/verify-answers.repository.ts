import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { requireOrgId } from '../database/tenant-scope';
import { VerifyResultDto } from './verify.dto';

/** How long an `Idempotency-Key` is remembered (as Stripe does). */
export const ANSWER_TTL_HOURS = 24;

/** The first answer of each recording verify, per org and Idempotency-Key (stored as a hash). */
@Injectable()
export class VerifyAnswersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async findAnswer(orgId: string, keyHash: string): Promise<VerifyResultDto | null> {
    const rows: { answer: VerifyResultDto }[] = await this.dataSource.query(
      `SELECT answer FROM verify_answers
        WHERE org_id = $1 AND key_hash = $2
          AND created_at > clock_timestamp() - make_interval(hours => $3)`,
      [requireOrgId(orgId), keyHash, ANSWER_TTL_HOURS],
    );
    return rows[0]?.answer ?? null;
  }

  /** Stores the answer unless one is stored already; returns the one that stands. */
  async rememberAnswer(
    orgId: string,
    keyHash: string,
    answer: VerifyResultDto,
  ): Promise<VerifyResultDto> {
    const rows: { answer: VerifyResultDto }[] = await this.dataSource.query(
      `WITH stored AS (
         INSERT INTO verify_answers (org_id, key_hash, answer) VALUES ($1, $2, $3)
         ON CONFLICT (org_id, key_hash) DO UPDATE
           SET answer = excluded.answer, created_at = excluded.created_at
           WHERE verify_answers.created_at <= clock_timestamp() - make_interval(hours => $4)
         RETURNING answer)
       SELECT answer, 0 AS rank FROM stored
       UNION ALL
       SELECT answer, 1 FROM verify_answers WHERE org_id = $1 AND key_hash = $2
       ORDER BY rank LIMIT 1`,
      [requireOrgId(orgId), keyHash, JSON.stringify(answer), ANSWER_TTL_HOURS],
    );
    return rows[0]?.answer ?? answer;
  }

  async deleteExpired(): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM verify_answers WHERE created_at <= clock_timestamp() - make_interval(hours => $1)`,
      [ANSWER_TTL_HOURS],
    );
  }
}
