/** Reading a Server-Sent-Events stream (the live counter) in the scripts and the tests. */

/**
 * A `data` handler for a stream's chunks: calls `onEvent` with each complete event's name
 * and parsed JSON data (events without data, like keep-alive comments, are skipped).
 */
export function eventStreamReader(onEvent: (name: string, data: unknown) => void): (chunk: Buffer) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString('utf8');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const lines = block.split('\n');
      const data = lines.find((l) => l.startsWith('data: '));
      if (!data) continue;
      const name = lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message';
      onEvent(name, JSON.parse(data.slice(6)));
    }
  };
}
