import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFields, formatTable, formatTime } from './table.js';

describe('CLI output', () => {
  it('aligns columns to the widest cell without trailing blanks', () => {
    const text = formatTable(
      ['ID', 'NAME', 'LAST'],
      [
        ['d1', 'Boiler in the basement', 'never'],
        ['device-22', 'x', ''],
      ],
    );
    assert.equal(
      text,
      'ID         NAME                    LAST\n' +
        'd1         Boiler in the basement  never\n' +
        'device-22  x\n',
    );
  });

  it('aligns key: value fields', () => {
    assert.equal(
      formatFields([
        ['id', 'd1'],
        ['last seen', 'never'],
      ]),
      'id:        d1\nlast seen: never\n',
    );
  });

  it('prints times in UTC to the second, and a placeholder for none', () => {
    assert.equal(formatTime(Date.UTC(2025, 0, 2, 3, 4, 5, 678)), '2025-01-02T03:04:05Z');
    assert.equal(formatTime(null), '-');
    assert.equal(formatTime(null, 'never'), 'never');
  });
});
