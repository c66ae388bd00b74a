import { Injectable } from '@nestjs/common';
import { decodeCursor, PageQueryDto, toPage } from '../common/pagination';
import { isUniqueViolation } from '../database/database-errors';
import { CatalogueCache } from './catalogue-cache';
import { CatalogueError } from './catalogue.errors';
import { Meter, METER_SLUG } from './catalogue.types';
import { CreateMeterDto, MeterDto, MeterPageDto, UpdateMeterDto } from './dto/meters.dto';
import { MetersRepository } from './meters.repository';

export function toMeterDto(meter: Meter): MeterDto {
  return {
    slug: meter.slug,
    name: meter.name,
    aggregation: meter.aggregation,
    valueProperty: meter.valueProperty,
    groupBy: meter.groupBy,
    createdAt: meter.createdAt.toISOString(),
    updatedAt: meter.updatedAt.toISOString(),
  };
}

export const meterNotFound = (slug: string) =>
  new CatalogueError('meter_not_found', `No meter "${slug}"`);

/** The meters catalogue: what the platform counts. A meter's slug and aggregation never change. */
@Injectable()
export class MetersService {
  constructor(
    private readonly meters: MetersRepository,
    private readonly cache: CatalogueCache,
  ) {}

  async list(page: PageQueryDto): Promise<MeterPageDto> {
    const after = decodeCursor(page.cursor, [METER_SLUG] as const);
    const rows = await this.meters.listMeters(page.limit, after?.[0]);
    return toPage(rows, page.limit, (m) => [m.slug], toMeterDto);
  }

  async get(slug: string): Promise<MeterDto> {
    const meter = await this.meters.findMeter(slug);
    if (!meter) throw meterNotFound(slug);
    return toMeterDto(meter);
  }

  async create(body: CreateMeterDto): Promise<MeterDto> {
    try {
      const meter = await this.meters.insertMeter({
        slug: body.slug,
        name: body.name,
        aggregation: body.aggregation,
        valueProperty: body.valueProperty ?? null,
        groupBy: body.groupBy ?? [],
      });
      this.cache.clear();
      return toMeterDto(meter);
    } catch (error) {
      if (isUniqueViolation(error, 'meters_pkey'))
        throw new CatalogueError('meter_exists', `A meter "${body.slug}" already exists`);
      throw error;
    }
  }

  /**
   * Replaces the name and groupBy. `slug`, `aggregation` and `valueProperty` may be sent back as
   * they are (a GET body round-trips) but not changed: stored events were counted by them.
   */
  async update(slug: string, body: UpdateMeterDto): Promise<MeterDto> {
    const current = await this.meters.findMeter(slug);
    if (!current) throw meterNotFound(slug);
    const changed = (['slug', 'aggregation', 'valueProperty'] as const).filter(
      (field) => body[field] !== undefined && body[field] !== current[field],
    );
    if (changed.length > 0) {
      throw new CatalogueError('immutable_field', 'A meter keeps its slug and aggregation', {
        problems: changed.map((field) => ({
          field,
          message: `${field} cannot change after a meter is created`,
        })),
      });
    }
    const updated = await this.meters.updateMeterLabels(slug, body.name, body.groupBy ?? []);
    if (!updated) throw meterNotFound(slug);
    this.cache.clear();
    return toMeterDto(updated);
  }

  /** The slugs among `slugs` that name no meter. */
  async findUnknownSlugs(slugs: string[]): Promise<string[]> {
    const existing = await this.meters.findExistingSlugs(slugs);
    return slugs.filter((slug) => !existing.has(slug));
  }
}
