/**
 * Node flags for the registry's own processes (web and worker), wherever they are started:
 * `npm start`, the benchmarks and the browser journey here, NODE_OPTIONS in the image.
 *
 * V8 grows the young generation to 16 MB semi-spaces under load and keeps the pages: about
 * 30 MB of an idle process's RSS. One-megabyte semi-spaces keep an idle web process under
 * 100 MB (measured by `npm run bench`); what they cost is more, shorter scavenges, which the
 * same benchmark's throughput figures show these processes, whose requests allocate little,
 * can afford.
 */
export const PROCESS_NODE_FLAGS = ['--max-semi-space-size=1'];
