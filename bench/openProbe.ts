// Opens a workspace database in a fresh process and reports the open time and the memory it holds.
import { Store } from '../src/core/store';
import { loadSqlJs } from '../src/core/store/sqljs';

void (async () => {
  await loadSqlJs(); // the engine itself is not the database's memory
  global.gc?.();
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  const store = await Store.open(process.argv[2]!);
  const openMs = performance.now() - t0;
  const rows = Number((await store.get('SELECT count(*) AS n FROM generation_logs'))!.n);
  process.stdout.write(JSON.stringify({ openMs, heldBytes: process.memoryUsage().rss - before, rows }));
  store.close();
})();
