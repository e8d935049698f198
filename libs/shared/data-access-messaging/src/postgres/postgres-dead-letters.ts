import { Pool, PoolClient } from 'pg';
import { inTransaction } from '@tally/shared/data-access-pg-client';
import { isDeadLetterHeader } from '../delivery-policy';
import { deadLetterStream, DeadLetter, DeadLetterStore, PublishResult } from '../message-bus.port';

type Insert = (
  client: PoolClient,
  subject: string,
  data: Uint8Array,
  msgId: string,
  headers?: Record<string, string>,
) => Promise<PublishResult>;

interface Row {
  seq: string;
  data: Buffer;
  headers: Record<string, string>;
  published_at: Date;
}

/**
 * The embedded bus's dead letters: messages of the DLQ stream in its messages table. Replay stores the
 * message again on its original subject (message id `replay:<seq>`, so a repeat is a duplicate) and
 * deletes the dead letter, in one transaction.
 */
export class PostgresDeadLetters implements DeadLetterStore {
  constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    private readonly insert: Insert,
    private readonly woken: () => void,
  ) {}

  async list(options: { consumer?: string; after?: string; limit?: number } = {}): Promise<DeadLetter[]> {
    const { rows } = await this.pool.query<Row>(
      `select seq, data, headers, published_at from "${this.schema}".messages
        where stream = $1 and seq > $2 and ($3::text is null or subject = $3) order by seq limit $4`,
      [
        deadLetterStream,
        /^\d{1,16}$/.test(options.after ?? '') ? options.after : '0',
        options.consumer ? `dlq.${options.consumer}` : null,
        options.limit ?? 100,
      ],
    );
    return rows.map(toDeadLetter);
  }

  async replay(id: string): Promise<'replayed' | 'not_found'> {
    if (!/^[1-9]\d{0,15}$/.test(id)) return 'not_found';
    const outcome = await inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<Row>(
        `delete from "${this.schema}".messages where stream = $1 and seq = $2 returning seq, data, headers, published_at`,
        [deadLetterStream, id],
      );
      if (!rows[0]) return 'not_found' as const;
      const letter = toDeadLetter(rows[0]);
      await client.query(`delete from "${this.schema}".deliveries where seq = $1`, [id]);
      const headers = Object.fromEntries(Object.entries(letter.headers).filter(([name]) => !isDeadLetterHeader(name)));
      await this.insert(client, letter.subject, rows[0].data, `replay:${letter.id}`, {
        ...headers,
        'Tally-Replayed-From': `dead-letter ${letter.id}`,
      });
      return 'replayed' as const;
    });
    if (outcome === 'replayed') this.woken();
    return outcome;
  }
}

const toDeadLetter = (row: Row): DeadLetter => ({
  id: row.seq,
  consumer: row.headers['Tally-Dead-Letter-Consumer'] ?? '',
  subject: row.headers['Tally-Dead-Letter-Subject'] ?? '',
  originalSequence: Number(row.headers['Tally-Dead-Letter-Sequence'] ?? 0),
  deliveries: Number(row.headers['Tally-Dead-Letter-Deliveries'] ?? 0),
  reason: row.headers['Tally-Dead-Letter-Reason'] ?? '',
  deadLetteredAt: row.published_at.toISOString(),
  body: row.data.toString('utf8'),
  headers: row.headers,
});
