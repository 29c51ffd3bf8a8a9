import { ConfigError } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { defaultSettings, type SystemSettings } from './keys.js';
import { SettingError, validateSettings } from './validate.js';

/**
 * The settings before anything is set through the API: the configuration file's
 * `configurations` map over defaultSettings. The map is checked with the API's rules; a bad
 * value is a ConfigError naming `configurations.<key>` (Berth then does not start).
 */
export function settingsFromConfig(config: Config): SystemSettings {
  const base = defaultSettings(config);
  try {
    return { ...base, ...validateSettings(config.configurations, base) };
  } catch (err) {
    if (err instanceof SettingError) throw new ConfigError(`invalid configuration:\n  configurations.${err.message}`);
    throw err;
  }
}
