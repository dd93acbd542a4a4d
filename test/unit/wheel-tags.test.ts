/**
 * The one rule for which packed wheels run on an archive's targets
 * (src/core/package/wheels.ts), shared by build, verify and the development
 * marketplace: platform tags, and python and ABI tags against each target's
 * Python, as pip's tag list for that CPython says.
 */
import { describe, expect, it } from 'vitest';
import { wheelMisfit, wheelRunsOn, type WheelTarget } from '../../src/core/package/wheels.js';

const linux311: WheelTarget = { python: '3.11', sysPlatform: 'linux', machine: 'x86_64', platform: 'manylinux_2_17_x86_64' };
const mac312: WheelTarget = { python: '3.12', sysPlatform: 'darwin', machine: 'arm64', platform: 'macosx_11_0_arm64' };

describe('wheelRunsOn (python and ABI tags on CPython x.y)', () => {
  const runs = (tags: string, version: string) => wheelRunsOn(`a-1.0-${tags}-any.whl`, version);

  it('pure tags: py3, py2.py3 and py3N up to the minor version, cp3<minor>-none', () => {
    for (const t of ['py3-none', 'py2.py3-none', 'py38-none', 'py311-none', 'cp311-none']) expect(runs(t, '3.11'), t).toBe(true);
    for (const t of ['py312-none', 'py2-none', 'cp310-none', 'cp312-none', 'py4-none']) expect(runs(t, '3.11'), t).toBe(false);
  });

  it('the stable ABI: cp3N-abi3 runs from 3.N on, never before, never below 3.2', () => {
    for (const t of ['cp32-abi3', 'cp38-abi3', 'cp311-abi3', 'cp37.cp38-abi3']) expect(runs(t, '3.11'), t).toBe(true);
    for (const t of ['cp312-abi3', 'cp313-abi3', 'py3-abi3', 'cp31-abi3']) expect(runs(t, '3.11'), t).toBe(false);
    expect(runs('cp312-abi3', '3.12')).toBe(true);
  });

  it("a version's own ABI runs on that version only; other interpreters, debug and free-threaded ABIs on none", () => {
    expect(runs('cp311-cp311', '3.11')).toBe(true);
    expect(runs('cp37-cp37m', '3.7')).toBe(true);
    for (const [t, v] of [
      ['cp312-cp312', '3.11'],
      ['cp310-cp310', '3.11'],
      ['cp311-cp311', '3.12'],
      ['cp311-cp311m', '3.11'],
      ['cp311-cp311d', '3.11'],
      ['cp313-cp313t', '3.13'],
      ['pp310-pypy310_pp73', '3.10'],
      ['cp311-cp312', '3.11'],
      ['cp312-cp311', '3.11'],
    ]) {
      expect(runs(t, v), `${t} on ${v}`).toBe(false);
    }
  });

  it('several tags in one name: one pair that runs is enough', () => {
    expect(wheelRunsOn('a-1.0-cp311.cp312-cp311.cp312-manylinux_2_17_x86_64.whl', '3.12')).toBe(true);
    expect(wheelRunsOn('not-a-wheel.whl', '3.11')).toBe(false);
  });
});

describe('wheelMisfit (against the targets of an archive)', () => {
  it('tells a wrong platform from a wrong Python, and names what is not a wheel name', () => {
    const targets = [linux311, mac312];
    expect(wheelMisfit('g-1.0-cp311-cp311-manylinux_2_17_x86_64.whl', targets)).toBeUndefined();
    expect(wheelMisfit('g-1.0-cp312-cp312-macosx_11_0_arm64.whl', targets)).toBeUndefined();
    expect(wheelMisfit('g-1.0-py3-none-any.whl', targets)).toBeUndefined();
    // The Python must be the one of the target whose platform fits, not any target's.
    expect(wheelMisfit('g-1.0-cp312-cp312-manylinux_2_17_x86_64.whl', targets)).toBe('python');
    expect(wheelMisfit('g-1.0-cp311-cp311-macosx_11_0_arm64.whl', targets)).toBe('python');
    expect(wheelMisfit('g-1.0-cp312-abi3-manylinux_2_17_x86_64.whl', targets)).toBe('python');
    expect(wheelMisfit('g-1.0-cp39-abi3-manylinux_2_17_x86_64.whl', targets)).toBeUndefined();
    expect(wheelMisfit('g-1.0-cp313-none-any.whl', targets)).toBe('python');
    expect(wheelMisfit('g-1.0-cp311-cp311-win_amd64.whl', targets)).toBe('platform');
    expect(wheelMisfit('g.whl', targets)).toBe('name');
  });
});
