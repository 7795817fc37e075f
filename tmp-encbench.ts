import { readFileSync } from 'node:fs';
import * as wasm from 'parquet-wasm';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { compressPages } from './src/parquet/page-compression.js';
import { nativeZstd } from './src/parquet/native-zstd.js';
const file = new Uint8Array(readFileSync('/tmp/sample.parquet'));
const t = wasm.readParquet(file);
const arrow = tableFromIPC(t.intoIPCStream());
console.log('rows', arrow.numRows, arrow.schema.fields.map((f) => `${f.name}:${f.type}`).join(' '));
const ipc = tableToIPC(arrow.slice(0, 125000), 'stream');
console.log('ipc bytes', ipc.byteLength);
const NODICT = ['id', 'amount', 'score', 'payload', 'created_at', 'updated_at', 'uid', '_extracted_at'];
type B = wasm.WriterPropertiesBuilder;
const variants: Record<string, (b: B) => B> = {
  base: (b) => b,
  nodictName: (b) => b.setColumnDictionaryEnabled('name', false),
  nodictAll: (b) => b.setDictionaryEnabled(false),
  nodictName_jsonNoStats: (b) => b.setColumnDictionaryEnabled('name', false).setColumnStatisticsEnabled('payload', wasm.EnabledStatistics.None),
  nodictName_strNoStats: (b) => b.setColumnDictionaryEnabled('name', false).setColumnStatisticsEnabled('payload', wasm.EnabledStatistics.None).setColumnStatisticsEnabled('uid', wasm.EnabledStatistics.None).setColumnStatisticsEnabled('name', wasm.EnabledStatistics.None),
  nostats: (b) => b.setStatisticsEnabled(wasm.EnabledStatistics.None),
};
for (let round = 0; round < 3; round++)
  for (const [name, f] of Object.entries(variants)) {
    const t0 = performance.now();
    let sz = 0, tw = 0, tz = 0;
    for (let i = 0; i < 5; i++) {
      const a = performance.now();
      const tbl = wasm.Table.fromIPCStream(ipc);
      let b = new wasm.WriterPropertiesBuilder().setCompression(wasm.Compression.UNCOMPRESSED).setMaxRowGroupSize(1_000_000);
      for (const c of NODICT) b = b.setColumnDictionaryEnabled(c, false);
      const plain = wasm.writeParquet(tbl, f(b).build());
      const m = performance.now();
      const out = compressPages(plain, nativeZstd!, 6);
      tw += m - a; tz += performance.now() - m; sz = out.byteLength;
    }
    console.log(round, name.padEnd(10), 'wasm ms/batch', (tw / 5).toFixed(1), 'zstd', (tz / 5).toFixed(1), 'size', sz);
  }
