import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { Meter, MeterAggregation } from './catalogue.types';

export interface NewMeter {
  slug: string;
  name: string;
  aggregation: MeterAggregation;
  valueProperty: string | null;
  groupBy: string[];
}

const METER_COLUMNS = `slug, name, aggregation, value_property AS "valueProperty", group_by AS "groupBy",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

/** The operator's meters. Global (not org-owned) data. */
@Injectable()
export class MetersRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Meters ordered by slug, `limit + 1` rows after `afterSlug`. */
  listMeters(limit: number, afterSlug?: string): Promise<Meter[]> {
    return this.dataSource.query(
      `SELECT ${METER_COLUMNS} FROM meters
        WHERE $1::text IS NULL OR slug > $1::text
        ORDER BY slug
        LIMIT $2`,
      [afterSlug ?? null, limit + 1],
    );
  }

  listAllMeters(): Promise<Meter[]> {
    return this.dataSource.query(`SELECT ${METER_COLUMNS} FROM meters ORDER BY slug`);
  }

  async findMeter(slug: string): Promise<Meter | null> {
    const rows: Meter[] = await this.dataSource.query(
      `SELECT ${METER_COLUMNS} FROM meters WHERE slug = $1`,
      [slug],
    );
    return rows[0] ?? null;
  }

  /** Which of `slugs` name an existing meter. */
  async findExistingSlugs(slugs: string[]): Promise<Set<string>> {
    const rows: { slug: string }[] = await this.dataSource.query(
      `SELECT slug FROM meters WHERE slug = ANY($1::text[])`,
      [slugs],
    );
    return new Set(rows.map((r) => r.slug));
  }

  /** Throws Postgres' unique violation (`meters_pkey`) when the slug is taken. */
  async insertMeter(meter: NewMeter): Promise<Meter> {
    const [row] = await this.dataSource.query(
      `INSERT INTO meters (slug, name, aggregation, value_property, group_by)
       VALUES ($1, $2, $3, $4, $5::text[])
       RETURNING ${METER_COLUMNS}`,
      [meter.slug, meter.name, meter.aggregation, meter.valueProperty, meter.groupBy],
    );
    return row;
  }

  /** Changes what may change (name, groupBy); null when there is no such meter. */
  async updateMeterLabels(slug: string, name: string, groupBy: string[]): Promise<Meter | null> {
    // TypeORM answers a top-level UPDATE with [rows, affected count].
    const [rows]: [Meter[], number] = await this.dataSource.query(
      `UPDATE meters
          SET name = $2, group_by = $3::text[],
              updated_at = date_trunc('milliseconds', clock_timestamp())
        WHERE slug = $1
        RETURNING ${METER_COLUMNS}`,
      [slug, name, groupBy],
    );
    return rows[0] ?? null;
  }
}
