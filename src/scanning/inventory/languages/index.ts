import type { Analyzer } from '../analyzer.js';

/** The language package analyzers (part B fills this list). */
export const languageAnalyzers: Analyzer[] = [];
