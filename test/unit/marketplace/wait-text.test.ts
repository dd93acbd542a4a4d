import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, parseRetryAfter, retryAfterDate, retryAfterText, waitText } from '../../../src/marketplace/retry.js';

describe('waitText', () => {
  it('seconds with one decimal under a minute, then minutes, hours, and "more than a day"', () => {
    expect(waitText(0)).toBe('0.0s');
    expect(waitText(1500)).toBe('1.5s');
    expect(waitText(59_940)).toBe('59.9s');
    expect(waitText(60_000)).toBe('1m 00s');
    expect(waitText(90_000)).toBe('1m 30s');
    expect(waitText(3_599_000)).toBe('59m 59s');
    expect(waitText(7_200_000)).toBe('2h 00m');
    expect(waitText(MAX_RETRY_AFTER_MS - 60_000)).toBe('23h 59m');
    expect(waitText(MAX_RETRY_AFTER_MS)).toBe('more than a day');
    expect(waitText(2_300_099_542_400)).toBe('more than a day');
  });
});

describe('Retry-After is capped at a day, in both forms', () => {
  const now = Date.parse('2026-11-26T05:00:00Z');
  it('delta-seconds and dates past a day come back as the cap', () => {
    expect(parseRetryAfter('99999999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('86400.5', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 31 Dec 2099 23:59:59 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Thu, 26 Nov 2026 06:00:00 GMT', now)).toBe(3_600_000);
  });
  it('retryAfterDate names the time of the date form only', () => {
    expect(retryAfterDate('Fri, 31 Dec 2099 23:59:59 GMT')).toBe(Date.parse('2099-12-31T23:59:59Z'));
    expect(retryAfterDate('120')).toBeUndefined();
    expect(retryAfterDate('-1')).toBeUndefined();
    expect(retryAfterDate(undefined)).toBeUndefined();
  });
});

describe('retryAfterText', () => {
  it('delta-seconds as sent, a date as the wait and its time, past a day "more than a day"', () => {
    expect(retryAfterText('3600', 3_600_000)).toBe('3600s');
    expect(retryAfterText('2.5', 2500)).toBe('2.5s');
    expect(retryAfterText('99999999999', MAX_RETRY_AFTER_MS)).toBe('more than a day');
    expect(retryAfterText('Thu, 26 Nov 2026 07:05:00 GMT', 7_500_000)).toBe('2h 05m (at 2026-11-26T07:05:00Z)');
    expect(retryAfterText('Fri, 31 Dec 2099 23:59:59 GMT', MAX_RETRY_AFTER_MS)).toBe('more than a day (at 2099-12-31T23:59:59Z)');
  });
});
