import {
  BadRequestException,
  ConflictException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { PageQueryDto } from '../common/pagination';
import { isUniqueViolation } from '../database/database-errors';
import { decodeMeterCursor, encodeMeterCursor, toCataloguePage } from './catalogue-cursor';
import { Meter } from './catalogue.types';
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
  new NotFoundException({ code: 'meter_not_found', message: `No meter "${slug}"` });

/** The meters catalogue: what the platform counts. A meter's slug and aggregation never change. */
@Injectable()
export class MetersService {
  constructor(private readonly meters: MetersRepository) {}

  async list(page: PageQueryDto): Promise<MeterPageDto> {
    const rows = await this.meters.listMeters(page.limit, decodeMeterCursor(page.cursor));
    return toCataloguePage(rows, page.limit, (m) => encodeMeterCursor(m.slug), toMeterDto);
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
      return toMeterDto(meter);
    } catch (error) {
      if (isUniqueViolation(error, 'meters_pkey'))
        throw new ConflictException({
          code: 'meter_exists',
          message: `A meter "${body.slug}" already exists`,
        });
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
      throw new BadRequestException({
        code: 'immutable_field',
        message: changed.map((field) => `${field} cannot change after a meter is created`),
      });
    }
    const updated = await this.meters.updateMeterLabels(slug, body.name, body.groupBy ?? []);
    if (!updated) throw meterNotFound(slug);
    return toMeterDto(updated);
  }

  /** For metering: the meter events of type `slug` are counted by, or null. */
  findBySlug(slug: string): Promise<Meter | null> {
    return this.meters.findMeter(slug);
  }

  /** For metering and reports: every meter, by slug. */
  listAll(): Promise<Meter[]> {
    return this.meters.listAllMeters();
  }

  /** The slugs among `slugs` that name no meter. */
  async findUnknownSlugs(slugs: string[]): Promise<string[]> {
    const existing = await this.meters.findExistingSlugs(slugs);
    return slugs.filter((slug) => !existing.has(slug));
  }
}
