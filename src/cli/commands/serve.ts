/**
 * `tufota serve`: serve a repository directory over HTTP until interrupted.
 *
 * @module
 */
import { createStaticServer } from '../../server/index.js';
import { type Command, integerOption, stringOption } from '../args.js';
import { note, printResult } from '../io.js';
import { repoDirOf } from '../session.js';

export const serveCommand: Command = {
  name: 'serve',
  summary:
    'serve the repository over HTTP (ETag, ranges, cache headers; for development and small fleets)',
  usage: 'tufota serve [DIR] [--port N] [--host HOST]',
  description: [
    'Prints the URL; clients use URL/metadata/ and URL/targets/. Listens on 127.0.0.1 unless --host',
    'says otherwise. Put TLS in front of it (a reverse proxy or CDN) for real fleets.',
  ].join('\n'),
  options: {
    port: {
      type: 'string',
      short: 'p',
      valueName: 'N',
      description: 'TCP port (default 8080; 0 picks a free one)',
    },
    host: {
      type: 'string',
      valueName: 'HOST',
      description: 'interface to listen on (default 127.0.0.1)',
    },
  },
  positionals: { min: 0, max: 1 },
  async run(args, io) {
    const root = repoDirOf(args, io, args.positionals[0]);
    const server = await createStaticServer({
      root,
      host: stringOption(args, 'host') ?? '127.0.0.1',
      port: integerOption(args, 'port', 0, 65535) ?? 8080,
    });
    printResult(
      io,
      {
        url: server.url,
        metadataUrl: `${server.url}/metadata/`,
        targetsUrl: `${server.url}/targets/`,
        root,
      },
      server.url,
    );
    note(io, `serving ${root}; press Ctrl-C to stop`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.close().finally(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
