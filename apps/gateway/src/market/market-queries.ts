import { Injectable } from '@nestjs/common';
import type { FindOptionsWhere } from 'typeorm';
import { LIMITS } from '@starminer/events';
import { DEFAULT_ENGINE_CONFIG } from '@starminer/matching';
import { ServiceRuntime } from '@starminer/service-kit';
import { MarketPriceView, NodeView } from '../views/entities';
import { decodeCursor, encodeCursor, priceBoard, type MarketKey, type PriceBoardRow } from './prices';

/** The public view of the market: the price board, from the gateway's read model (the supply: nodes/). */
@Injectable()
export class MarketQueries {
  constructor(private readonly rt: ServiceRuntime) {}

  async prices(q: { gpuModel?: string; region?: string; limit?: number; cursor?: string }): Promise<{ markets: PriceBoardRow[]; nextCursor: string | null }> {
    const limit = q.limit ?? LIMITS.pageSizeDefault;
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    const nodeFilter: FindOptionsWhere<NodeView> = { ...(q.gpuModel ? { gpuModel: q.gpuModel } : {}), ...(q.region ? { region: q.region } : {}) };
    const priceFilter: FindOptionsWhere<MarketPriceView> = { ...(q.gpuModel ? { gpuClass: q.gpuModel } : {}), ...(q.region ? { region: q.region } : {}) };
    const supply: MarketKey[] = await this.rt.db
      .getRepository(NodeView)
      .createQueryBuilder('n')
      .select('n.gpuModel', 'gpuModel')
      .addSelect('n.region', 'region')
      .where(nodeFilter)
      .distinct(true)
      .getRawMany();
    // the engine names a market's GPU model its GPU class; the board says gpuModel
    const priced = (await this.rt.db.getRepository(MarketPriceView).find({ where: priceFilter })).map((p) => ({ ...p, gpuModel: p.gpuClass }));
    const { rows, next } = priceBoard(supply, priced, DEFAULT_ENGINE_CONFIG.pricing, { limit, after });
    return { markets: rows, nextCursor: next ? encodeCursor(next) : null };
  }
}
