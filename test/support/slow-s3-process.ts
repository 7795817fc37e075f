/**
 * The slow S3 proxy of faulty-s3-proxy.ts in a child process of its own: a test that blocks its
 * event loop (spawnSync of the CLI) would otherwise stall every request the proxy holds.
 */
import { spawn } from 'node:child_process';

const PROXY = new URL('./faulty-s3-proxy.ts', import.meta.url).href;

/** A running proxy process: its endpoint, and how to stop it. */
export interface SlowS3Process {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts a proxy that holds each PUT whose decoded path matches `path` for `ms` (see startSlowS3Proxy). */
export async function startSlowS3Process(options: {
  readonly path: RegExp;
  readonly ms: number;
}): Promise<SlowS3Process> {
  const script = `import { startSlowS3Proxy } from ${JSON.stringify(PROXY)};
    const p = await startSlowS3Proxy({ path: new RegExp(${JSON.stringify(options.path.source)}), ms: ${options.ms}, after: 0 });
    console.log(p.url);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = /^(http:\/\/\S+)\n/m.exec(out)?.[1];
      if (line) resolve(line);
    });
    child.once('exit', (code) => reject(new Error(`the proxy process exited with ${code}`)));
  });
  return {
    url,
    async close() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
