import type { Package } from '../../types.js';
import type { Analyzer } from '../analyzer.js';
import { binaryAnalyzer } from './binary.js';
import { javaAnalyzer } from './java.js';
import { dropLockfilesWithInstalledTree, npmAnalyzer } from './npm.js';
import { pythonAnalyzer } from './python.js';
import { cargoLockAnalyzer } from './rust.js';

/** The language package analyzers: npm, Python, Java archives, Cargo.lock, and executables (Go build info, cargo-auditable). */
export const languageAnalyzers: Analyzer[] = [npmAnalyzer, pythonAnalyzer, javaAnalyzer, cargoLockAnalyzer, binaryAnalyzer];

/**
 * Run once over all packages after the walk (results are per file, this looks across files):
 * a package-lock.json's packages are dropped where its folder has an installed node_modules tree.
 */
export function finishLanguagePackages(packages: Package[]): Package[] {
  return dropLockfilesWithInstalledTree(packages);
}
