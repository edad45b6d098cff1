// Reading QBO report documents: amount cells, section totals, and the empty answer.
import { describe, expect, it } from 'vitest';
import { amountOf, qboReport, realmOf, rowsOf, totalCellsOf } from './report.js';

describe('QBO reports', () => {
  it('reads amount cells, empty ones as 0, and refuses anything that is not an amount', () => {
    expect(amountOf('7547.46')).toBe(7547.46);
    expect(amountOf('-12')).toBe(-12);
    expect(amountOf('')).toBe(0);
    expect(amountOf(undefined)).toBe(0);
    expect(() => amountOf('1,234.00')).toThrow();
  });

  it('takes a section total from its Summary, or from its Header in computed lines', () => {
    expect(totalCellsOf({ Summary: { ColData: [{ value: 'Total Income' }, { value: '10.00' }] } }).at(-1)?.value).toBe('10.00');
    expect(totalCellsOf({ Header: { ColData: [{ value: 'Gross Profit' }, { value: '5.00' }] }, group: 'GrossProfit' }).at(-1)?.value).toBe('5.00');
  });

  it('answers no rows for a company with nothing to report ("Rows": {})', () => {
    const report = qboReport.parse({ Header: { ReportName: 'ProfitAndLoss', Option: [{ Name: 'NoReportData', Value: 'true' }] }, Columns: { Column: [] }, Rows: {} });
    expect(rowsOf(report)).toEqual([]);
  });
});

describe('realmOf', () => {
  it('gives the numeric realm, and asks for a reconnect when the metadata has none (or a tampered one)', () => {
    expect(realmOf({ metadata: { realmId: '9341452987115460' } })).toBe('9341452987115460');
    for (const metadata of [{}, { realmId: '../../v3/company/1' }] as Record<string, string>[]) {
      expect(() => realmOf({ metadata })).toThrow(expect.objectContaining({ code: 'reauth_required' }));
    }
  });
});
