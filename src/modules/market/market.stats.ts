/**
 * What the board brought about: registered contracts started from a listing (`fromListing`)
 * and their turnover, for a registration year. A count and a sum over the few such contracts,
 * served by the contracts' partial index `from_market`; the tally's facts are not involved.
 */
import { formatYuan } from '../../domain/money';
import { Contract } from '../contracts/contract.model';

export interface MarketStats {
  year: number;
  contracts: number;
  contractAmountFen: number;
}

export async function marketStats(year: number): Promise<MarketStats> {
  // `fromListing: {$type: 'objectId'}` repeats the partial index's filter word for word (DocumentDB needs it).
  const [row] = await Contract.aggregate<{ n: number; fen: number }>([
    { $match: { fromListing: { $type: 'objectId' }, registrationYear: year, status: 'registered' } },
    { $group: { _id: null, n: { $sum: 1 }, fen: { $sum: { $ifNull: ['$contractAmountFen', 0] } } } },
  ]);
  return { year, contracts: row?.n ?? 0, contractAmountFen: row?.fen ?? 0 };
}

/** The public answer's field: `{contracts, contractAmount}` with the amount as a money string. */
export const marketStatsAnswer = (s: MarketStats) => ({ contracts: s.contracts, contractAmount: formatYuan(s.contractAmountFen) });
