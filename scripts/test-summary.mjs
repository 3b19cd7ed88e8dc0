// Prints vitest's JSON report as one plain closing line: "vitest: N passed, N failed[, N skipped]".
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
const line = `vitest: ${report.numPassedTests} passed, ${report.numFailedTests} failed`;
console.log(skipped > 0 ? `${line}, ${skipped} skipped` : line);
