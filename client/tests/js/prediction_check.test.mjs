import assert from "node:assert/strict";
import test from "node:test";

import { checkPredictionsCsv, splitCsvLine } from "../../../static/js/prediction_check.mjs";

test("a good file passes, with or without BOM and CRLF", () => {
  for (const text of ["id,prediction\na,0.1\nb,0.9\n", "\ufeffid,prediction\r\na,0\r\nb,1\r\n"]) {
    assert.deepEqual(checkPredictionsCsv(text), { ok: true, rows: 2, problems: [] });
  }
});

test("the header must be exactly id,prediction", () => {
  const result = checkPredictionsCsv("id,Prediction\na,0.5\n");
  assert.equal(result.ok, false);
  assert.equal(result.problems[0].message, 'the first line must be exactly "id,prediction"; found "id,Prediction"');
});

test("numbers outside [0, 1], text, missing and infinite values are named by row and id", () => {
  const text = "id,prediction\na,1.5\nb,abc\nc,\nd,inf\ne,0,5\nf,-0.2\n";
  const result = checkPredictionsCsv(text);
  assert.deepEqual(result.problems.map((p) => p.message), [
    "1 row without exactly two fields: row 5 has 3 fields",
    "1 row with a prediction that is not a number: row 2 (id 'b'): 'abc'",
    "1 row with a missing prediction: row 3 (id 'c'): ''",
    "1 row with an infinite prediction: row 4 (id 'd'): 'inf'",
    "2 rows with a prediction outside [0, 1]: row 1 (id 'a'): '1.5', row 6 (id 'f'): '-0.2'",
  ]);
});

test("repeated and empty ids, and a constant column", () => {
  assert.deepEqual(checkPredictionsCsv("id,prediction\na,0.1\na,0.2\n,0.3\n").problems.map((p) => p.code), [
    "empty_ids",
    "duplicate_ids",
  ]);
  const constant = checkPredictionsCsv("id,prediction\na,0.5\nb,0.5\n");
  assert.equal(constant.problems[0].code, "constant");
});

test("only the first five offenders are listed, with the full count", () => {
  const rows = Array.from({ length: 7 }, (_, i) => `r${i},2`).join("\n");
  const [problem] = checkPredictionsCsv(`id,prediction\n${rows}\n`).problems;
  assert.equal(problem.count, 7);
  assert.match(problem.message, /^7 rows with a prediction outside \[0, 1\], first 5: row 1 /);
});

test("quoted fields", () => {
  assert.deepEqual(splitCsvLine('"a,b",0.5'), ["a,b", "0.5"]);
  assert.deepEqual(splitCsvLine('"say ""hi""",1'), ['say "hi"', "1"]);
});
