// A light, local check of a predictions CSV before it is sealed in the browser.
//
// The platform cannot read a sealed file before the round closes, so a broken file would only
// be found after close, when it is too late to fix. This catches the common mistakes early:
// the header, unreadable or out-of-range numbers, empty and repeated ids, a constant column.
// It does not know the live ids; the full rules (every live id exactly once) are applied by
// `arena submit` before sealing and by the platform after close.

const FIRST_FEW = 5;

/** Split one CSV line into fields (RFC 4180 quoting; no line breaks inside quotes). */
export function splitCsvLine(line) {
  const fields = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i += 1) {
    const ch = line[i];
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (ch === '"') {
        quoted = false;
      } else {
        field += ch;
      }
    } else if (ch === '"') {
      quoted = true;
    } else if (ch === ",") {
      fields.push(field);
      field = "";
    } else {
      field += ch;
    }
  }
  fields.push(field);
  return fields;
}

function rows(count) {
  return `${count.toLocaleString("en-US")} ${count === 1 ? "row" : "rows"}`;
}

function firstFew(count) {
  return count > FIRST_FEW ? `, first ${FIRST_FEW}` : "";
}

/**
 * Check predictions CSV text. Returns {ok, rows, problems}: each problem is
 * {code, message, count} with a message naming the first offending rows (row 1 is the first
 * data row, as the platform counts).
 */
export function checkPredictionsCsv(text) {
  const body = text.startsWith("\ufeff") ? text.slice(1) : text;
  const lines = body.split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
  if (!lines.length) {
    return { ok: false, rows: 0, problems: [{ code: "empty_file", message: "the file is empty", count: 0 }] };
  }
  const header = splitCsvLine(lines[0]).map((name) => name.trim());
  if (header.length !== 2 || header[0] !== "id" || header[1] !== "prediction") {
    return {
      ok: false,
      rows: 0,
      problems: [{
        code: "bad_columns",
        message: `the first line must be exactly "id,prediction"; found "${lines[0].slice(0, 80)}"`,
        count: 1,
      }],
    };
  }
  const found = {
    bad_fields: [], empty_ids: [], not_numeric: [], missing_values: [], not_finite: [], out_of_range: [],
  };
  const seen = new Map();
  let low = Infinity;
  let high = -Infinity;
  const dataRows = lines.length - 1;
  for (let index = 1; index < lines.length; index += 1) {
    const row = index;
    const fields = splitCsvLine(lines[index]);
    if (fields.length !== 2) {
      found.bad_fields.push(`row ${row} has ${fields.length} fields`);
      continue;
    }
    const [id, raw] = fields;
    if (id.trim() === "") found.empty_ids.push(`row ${row}`);
    else seen.set(id, [...(seen.get(id) || []), row]);
    const cell = raw.trim();
    const shown = `row ${row} (id '${id}'): '${cell}'`;
    if (cell === "" || /^[+-]?(nan|na|n\/a|null|none)$/i.test(cell)) {
      found.missing_values.push(shown);
      continue;
    }
    if (/^[+-]?(inf|infinity)$/i.test(cell)) {
      found.not_finite.push(shown);
      continue;
    }
    const value = Number(cell);
    if (!Number.isFinite(value) || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell)) {
      found.not_numeric.push(shown);
      continue;
    }
    if (value < 0 || value > 1) found.out_of_range.push(shown);
    low = Math.min(low, value);
    high = Math.max(high, value);
  }
  const problems = [];
  const add = (code, list, what) => {
    if (list.length) {
      problems.push({
        code,
        message: `${rows(list.length)} ${what}${firstFew(list.length)}: ${list.slice(0, FIRST_FEW).join(", ")}`,
        count: list.length,
      });
    }
  };
  add("bad_fields", found.bad_fields, "without exactly two fields");
  add("empty_ids", found.empty_ids, "with an empty id");
  const repeated = [...seen].filter(([, where]) => where.length > 1);
  if (repeated.length) {
    const listing = repeated.slice(0, FIRST_FEW).map(([id, where]) => `'${id}' (rows ${where.slice(0, FIRST_FEW).join(", ")})`);
    problems.push({
      code: "duplicate_ids",
      message: `${repeated.length} ${repeated.length === 1 ? "id appears" : "ids appear"} more than once${firstFew(repeated.length)}: ${listing.join(", ")}`,
      count: repeated.length,
    });
  }
  add("not_numeric", found.not_numeric, "with a prediction that is not a number");
  add("missing_values", found.missing_values, "with a missing prediction");
  add("not_finite", found.not_finite, "with an infinite prediction");
  add("out_of_range", found.out_of_range, "with a prediction outside [0, 1]");
  if (!problems.length && dataRows > 1 && low === high) {
    problems.push({
      code: "constant",
      message: `all ${dataRows.toLocaleString("en-US")} predictions are the same value (${low}); a constant submission cannot be ranked, so it cannot be scored`,
      count: dataRows,
    });
  }
  if (!problems.length && dataRows === 0) {
    problems.push({ code: "no_rows", message: "the file has a header but no predictions", count: 0 });
  }
  return { ok: problems.length === 0, rows: dataRows, problems };
}
