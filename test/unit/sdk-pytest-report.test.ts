import { describe, expect, it } from 'vitest';
import { describeCollectionError, parseJunitXml } from '../../src/python/junit.js';
import { buildPythonPath, userJunitPath } from '../../src/python/pytest.js';

// Trimmed from real pytest 9 --junitxml output (xunit2).
const MIXED = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="1" skipped="2" tests="5" time="0.062" hostname="vm">
<testcase classname="tests.test_a" name="test_ok" time="0.029" />
<testcase classname="tests.test_a" name="test_fail" time="0.001"><failure message="assert 1 == 2">E   assert 1 == 2

tests/test_a.py:3: AssertionError</failure></testcase>
<testcase classname="tests.test_a" name="test_skip" time="0.000"><skipped type="pytest.skip" message="nope">/tmp/jx/tests/test_a.py:4: nope</skipped></testcase>
<testcase classname="tests.test_a" name="test_xf" time="0.000"><skipped type="pytest.xfail" message="" /></testcase>
<testcase classname="tests.test_a" name="test_err" time="0.000"><error message="failed on setup with &quot;RuntimeError: fixture boom&quot;">E   RuntimeError: fixture boom</error></testcase>
</testsuite></testsuites>`;

const COLLECTION = `<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests"><testsuite name="pytest" errors="1" failures="0" skipped="0" tests="1" time="0.154"><testcase classname="" name="tests.test_b" time="0.000"><error message="collection failure">/usr/lib/python3/dist-packages/_pytest/python.py:507: in importtestmodule
    mod = import_path(
E     File "/tmp/p/src/plugin.py", line 12
E       def status(self, request)
E                                ^
E   SyntaxError: expected ':'</error></testcase></testsuite></testsuites>`;

// pytest 7 with junit_family=xunit1 and no <testsuites> wrapper.
const XUNIT1 = `<?xml version="1.0" encoding="utf-8"?><testsuite name="pytest" errors="0" failures="0" skipped="0" tests="2" time="1.5"><testcase classname="t" name="a" file="t.py" line="1" time="0.1"><system-out>hi</system-out></testcase><testcase classname="t" name="b" time="0.1"/></testsuite>`;

describe('pytest JUnit report', () => {
  it('counts passed, failed, skipped, xfailed and errors per test case', () => {
    expect(parseJunitXml(MIXED)).toEqual({
      total: 5,
      passed: 1,
      failed: 1,
      skipped: 2,
      xfailed: 1,
      errors: 1,
      duration: 0.062,
      collectionErrors: [],
    });
  });

  it('reads a report without <testsuites> and with system-out', () => {
    expect(parseJunitXml(XUNIT1)).toMatchObject({ total: 2, passed: 2, duration: 1.5 });
  });

  it('finds where a syntax error that stopped collection is', () => {
    const s = parseJunitXml(COLLECTION);
    expect(s.errors).toBe(1);
    expect(s.collectionErrors).toEqual([{ node: 'tests.test_b', file: '/tmp/p/src/plugin.py', line: 12, kind: 'SyntaxError', message: "expected ':'" }]);
  });

  it('names the exception of other collection errors', () => {
    const text = "tests/test_x.py:1: in <module>\n    import pandas\nE   ModuleNotFoundError: No module named 'pandas'";
    expect(describeCollectionError('tests.test_x', 'collection failure', text)).toEqual({
      node: 'tests.test_x',
      kind: 'ModuleNotFoundError',
      message: "No module named 'pandas'",
    });
  });

  it('refuses what is not a JUnit report', () => {
    expect(() => parseJunitXml('<html><body>nope</body></html>')).toThrow(/no <testsuite>/);
  });

  it("finds the user's own --junitxml", () => {
    expect(userJunitPath(['-k', 'x'], '/p')).toBeUndefined();
    expect(userJunitPath(['--junitxml=out/r.xml'], '/p')).toBe('/p/out/r.xml');
    expect(userJunitPath(['--junit-xml', '/abs.xml'], '/p')).toBe('/abs.xml');
  });

  it('PYTHONPATH: SDK and plugin root first, then what was there', () => {
    expect(buildPythonPath(['/sdk', '/plugin'], '/a:/b')).toBe('/sdk:/plugin:/a:/b');
    expect(buildPythonPath(['/sdk', '/plugin'], undefined)).toBe('/sdk:/plugin');
  });
});
