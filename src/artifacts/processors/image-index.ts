import { icons } from '../icons.js';
import { noAddition, type Processor } from './processor.js';

/** Image indexes and Docker manifest lists: Harbor types them IMAGE; their children carry the detail. */
export const imageIndexProcessor: Processor = {
  type: 'IMAGE',
  icon: icons.image,
  additions: [],
  owns: (m) => m.kind === 'index',
  extraAttrs: async () => ({}),
  addition: noAddition,
};
