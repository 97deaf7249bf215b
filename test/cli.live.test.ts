import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { tempFiles } from './helpers/data.js';

describe('migrec update / forget', () => {
  it('update adds events to a model file, forget removes a user; errors say what and where (exit 2)', async () => {
    const files = tempFiles('migrec-cli-live-');
    try {
      let train = 'user,item,domain\n';
      for (let u = 0; u < 30; u++) for (let i = 0; i < 6; i++) train += `user${u},i${(u + i * 3) % 20},${i % 2 === 0 ? 'a' : 'b'}\n`;
      const trainPath = files.file('train.csv', train);
      const model = `${files.dir}/m.migrec`;
      expect((await cli('fit', '--train', trainPath, '--models', 'itemknn', '--out', model)).code).toBe(0);
      const events = files.file('new.csv', 'user,item,domain\nuser1,i3,a\nnewcomer,i99,b\nnewcomer,i4,b\n');
      const up = await cli('update', '--model', model, '--events', events, '--out', model, '--json');
      expect(up.stderr).toBe('');
      expect(up.code).toBe(0);
      expect(JSON.parse(up.stdout)).toMatchObject({ operation: 'update', rows: 3, newUsers: 1, newItems: 1, out: model });
      const rec = await cli('recommend', '--model', model, '--user', 'newcomer', '--domain', 'b', '--k', '3', '--json');
      expect(rec.code).toBe(0);
      const out = `${files.dir}/f.migrec`;
      const fg = await cli('forget', '--model', model, '--user', 'newcomer', '--user', 'user17', '--out', out);
      expect(fg.code).toBe(0);
      expect(fg.stdout).toMatch(/^forgot 2 user\(s\) of .* \(8 rows\) in [0-9.]+ s; saved /);
      const bytes = readFileSync(out);
      expect(bytes.includes(Buffer.from('newcomer'))).toBe(false);
      expect(bytes.includes(Buffer.from('user17'))).toBe(false);
      const gone = await cli('recommend', '--model', out, '--user', 'newcomer', '--domain', 'b');
      expect(gone.code).toBe(2);
      const bad = files.file('bad.csv', 'user,item,domain\nuser1,i3,a\nuser2,i3,c\n');
      const e1 = await cli('update', '--model', model, '--events', bad, '--out', model);
      expect(e1.code).toBe(2);
      expect(e1.stderr).toBe('migrec: bad.csv:3: domain "c" is not a domain of the model (it knows "a", "b"); a new domain needs a refit\n');
      const e2 = await cli('forget', '--model', model, '--user', 'nobody', '--out', out);
      expect(e2.code).toBe(2);
      expect(e2.stderr).toBe('migrec: unknown user "nobody": not in the model (nothing to forget)\n');
      const e3 = await cli('update', '--model', model, '--events', events);
      expect(e3.code).toBe(2);
      expect(e3.stderr).toMatch(/--out/);
    } finally {
      files.remove();
    }
  }, 60_000);
});
