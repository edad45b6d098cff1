// `pnpm bench [name]`: runs one benchmark by name (default `api`); results go to bench/results/.
const benches: Record<string, () => Promise<{ run(): Promise<void> }>> = {
  api: () => import('./api.bench.js'),
  refresh: () => import('./refresh.bench.js'),
  widgets: () => import('./widgets.bench.js'),
  webhooks: () => import('./webhooks.bench.js'),
};

const name = process.argv[2] ?? 'api';
const load = benches[name];
if (!load) {
  console.error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
const bench = await load();
await bench.run();
