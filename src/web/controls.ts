// The settings form: a preset and the main hyperparameters over it, the same names and
// defaults as `sgas search` (a field left as the preset has it keeps the preset's value).
import { DEFAULT_PRESET, presetConfig, PRESETS, searchEpochs, validateConfig, type SearchConfig } from '../search/config.ts';
import type { RecomputeMode } from '../train/memory.ts';
import type { SearchSettings } from './session.ts';

type NumericField = { key: keyof SearchConfig & string; label: string; integer: boolean; min?: number };

const FIELDS: NumericField[] = [
  { key: 'initChannels', label: 'Init channels', integer: true, min: 1 },
  { key: 'layers', label: 'Layers (cells)', integer: true, min: 3 },
  { key: 'batchSize', label: 'Batch size', integer: true, min: 1 },
  { key: 'learningRate', label: 'Learning rate', integer: false, min: 0 },
  { key: 'archLearningRate', label: 'Arch learning rate', integer: false, min: 0 },
  { key: 'warmupDecEpoch', label: 'Warm-up epochs', integer: true, min: 0 },
  { key: 'decisionFreq', label: 'Decide every N epochs', integer: true, min: 1 },
  { key: 'seed', label: 'Seed', integer: true },
];

// SGAS's criteria: edge importance × selection certainty, and that × selection stability.
const CRITERIA: Record<1 | 2, string> = { 1: '1 — certainty', 2: '2 — + stability' };

const RECOMPUTE: Record<RecomputeMode, string> = {
  auto: 'auto — recompute cells only if a step would not fit',
  cells: 'recompute cells — less memory, a third more work',
  off: 'keep every activation',
};

function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, string | boolean> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node: HTMLElementTagNameMap[K] = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export function presetSettings(preset: string, overrides: Partial<SearchConfig> = {}): SearchSettings {
  return { preset, config: { ...presetConfig(preset), ...overrides } };
}

export class SettingsForm {
  private readonly preset: HTMLSelectElement;
  private readonly description: HTMLParagraphElement;
  private readonly inputs = new Map<string, HTMLInputElement>();
  private readonly criterion: HTMLSelectElement;
  private readonly recompute: HTMLSelectElement;
  private readonly summary: HTMLParagraphElement;
  /** The settings the form edits: hidden keys (image size, …) come from here. */
  private base: SearchSettings = presetSettings(DEFAULT_PRESET);

  constructor(private readonly form: HTMLFormElement) {
    this.preset = element('select', { id: 'preset', name: 'preset' },
      ...Object.keys(PRESETS).map((name) => element('option', { value: name, textContent: name })));
    this.description = element('p', { className: 'muted small' });
    this.criterion = element('select', { id: 'criterion', name: 'criterion' },
      ...Object.entries(CRITERIA).map(([value, label]) => element('option', { value, textContent: label })));
    this.recompute = element('select', { id: 'recompute', name: 'recompute' },
      ...Object.entries(RECOMPUTE).map(([value, label]) => element('option', { value, textContent: label })));
    this.summary = element('p', { className: 'small', id: 'settings-summary' });
    const rows = FIELDS.map((f) => {
      const input = element('input', { id: f.key, name: f.key, type: 'number', step: f.integer ? '1' : 'any', required: true });
      if (f.min !== undefined) input.min = String(f.min);
      this.inputs.set(f.key, input);
      return element('label', { htmlFor: f.key }, element('span', { textContent: f.label }), input);
    });
    form.append(
      element('label', { htmlFor: 'preset' }, element('span', { textContent: 'Preset' }), this.preset),
      this.description,
      element('div', { className: 'fields' }, ...rows),
      element('label', { htmlFor: 'criterion' }, element('span', { textContent: 'Criterion' }), this.criterion),
      element('label', { htmlFor: 'recompute' }, element('span', { textContent: 'Memory' }), this.recompute),
      this.summary,
    );
    this.preset.addEventListener('change', () => this.show(presetSettings(this.preset.value)));
    form.addEventListener('input', () => this.refreshSummary());
    form.addEventListener('submit', (e) => e.preventDefault());
    this.show(this.base);
  }

  show(settings: SearchSettings): void {
    // Settings stored by an older version lack newer keys: those take the preset's values.
    const preset = PRESETS[settings.preset] ? settings.preset : DEFAULT_PRESET;
    this.base = { preset: settings.preset, config: { ...presetConfig(preset), ...settings.config } };
    this.preset.value = settings.preset;
    this.description.textContent = PRESETS[settings.preset]?.description ?? '';
    for (const f of FIELDS) this.inputs.get(f.key)!.value = String(settings.config[f.key]);
    this.criterion.value = String(this.base.config.criterion);
    this.recompute.value = this.base.config.recompute;
    this.refreshSummary();
  }

  /** The settings as the form stands; throws naming the first bad field. */
  read(): SearchSettings {
    const config: SearchConfig = { ...this.base.config, archBetas: [...this.base.config.archBetas] };
    for (const f of FIELDS) {
      const raw = this.inputs.get(f.key)!.value.trim();
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value) || (f.integer && !Number.isInteger(value))) {
        throw new Error(`${f.label}: expected ${f.integer ? 'an integer' : 'a number'}, got '${raw}'`);
      }
      (config[f.key] as number) = value;
    }
    config.criterion = Number(this.criterion.value) as 1 | 2;
    config.recompute = this.recompute.value as RecomputeMode;
    validateConfig(config);
    return { preset: this.base.preset, config };
  }

  set disabled(value: boolean) {
    for (const control of this.form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) control.disabled = value;
  }

  private refreshSummary(): void {
    try {
      const { config } = this.read();
      const images = config.maxImages || 'all';
      this.summary.textContent = `${searchEpochs(config)} epochs on ${images} images` +
        `${config.imageSize ? ` at ${config.imageSize}×${config.imageSize}` : ''}; ${Math.round(100 * config.trainPortion)}% train the weights, the rest the alphas`;
      this.summary.classList.remove('error');
    } catch (e) {
      this.summary.textContent = (e as Error).message;
      this.summary.classList.add('error');
    }
  }
}
