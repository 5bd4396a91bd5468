// The settings form: a preset and the main hyperparameters over it, the same names and
// defaults as `sgas search` (a field left as the preset has it keeps the preset's value). A bad
// value is named by its field's label, and its field is marked (aria-invalid) and, on Start, focused.
import { ConfigError, DEFAULT_PRESET, presetConfig, PRESETS, searchEpochs, validateConfig, type SearchConfig } from '../search/config.ts';
import type { RecomputeMode } from '../train/memory.ts';
import type { SearchSettings } from './protocol.ts';

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

/** A select's options: the short name it shows, and the sentence shown under it for the chosen one. */
type Choices<K extends string | number> = Record<K, { name: string; note: string }>;

// SGAS's criteria: edge importance × selection certainty, and that × selection stability.
const CRITERIA: Choices<1 | 2> = {
  1: { name: '1: certainty', note: 'edge importance × selection certainty' },
  2: { name: '2: + stability', note: 'importance × certainty × selection stability over recent epochs' },
};

const RECOMPUTE: Choices<RecomputeMode> = {
  auto: { name: 'auto', note: 'recompute cells only if a step would not fit in memory' },
  cells: { name: 'recompute cells', note: 'less memory, a third more work' },
  off: { name: 'keep all', note: 'keep every activation for the backward' },
};

/** The settings form could not be read: `field` is the control at fault, when one is. */
export class SettingsError extends Error {
  constructor(message: string, readonly field: HTMLInputElement | HTMLSelectElement | null) {
    super(message);
  }
}

export function element<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, string | boolean> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node: HTMLElementTagNameMap[K] = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export function presetSettings(preset: string, overrides: Partial<SearchConfig> = {}): SearchSettings {
  return { preset, config: { ...presetConfig(preset), ...overrides } };
}

/** A select whose chosen option's note shows under it (and is its accessible description). */
function choiceSelect<K extends string | number>(id: string, choices: Choices<K>): { select: HTMLSelectElement; note: HTMLParagraphElement; refresh(): void } {
  const note = element('p', { id: `${id}-note`, className: 'muted small note' });
  const select = element('select', { id, name: id },
    ...Object.entries<{ name: string; note: string }>(choices).map(([value, c]) => element('option', { value, textContent: c.name })));
  select.setAttribute('aria-describedby', note.id);
  const update = () => (note.textContent = choices[select.value as K]?.note ?? '');
  select.addEventListener('change', update);
  return { select, note, refresh: update };
}

export function row(id: string, label: string, control: HTMLElement): HTMLLabelElement {
  return element('label', { htmlFor: id }, element('span', { textContent: label }), control);
}

export class SettingsForm {
  private readonly preset: HTMLSelectElement;
  private readonly description: HTMLParagraphElement;
  private readonly inputs = new Map<string, HTMLInputElement>();
  private readonly criterion: ReturnType<typeof choiceSelect>;
  private readonly recompute: ReturnType<typeof choiceSelect>;
  private readonly summary: HTMLParagraphElement;
  /** Labels of the keys a field edits, for messages. */
  private readonly labels = new Map<string, string>([['criterion', 'Criterion'], ['recompute', 'Memory']]);
  /** The settings the form edits: hidden keys (image size, …) come from here. */
  private base: SearchSettings = presetSettings(DEFAULT_PRESET);
  /** A chosen image folder: its side, which a search on it takes instead of the preset's, and its decodable training images. */
  private folder: { side: number; images: number } | null = null;

  constructor(private readonly form: HTMLFormElement) {
    this.description = element('p', { id: 'preset-note', className: 'muted small note' });
    this.preset = element('select', { id: 'preset', name: 'preset' },
      ...Object.keys(PRESETS).map((name) => element('option', { value: name, textContent: name })));
    this.preset.setAttribute('aria-describedby', this.description.id);
    this.criterion = choiceSelect('criterion', CRITERIA);
    this.recompute = choiceSelect('recompute', RECOMPUTE);
    this.summary = element('p', { className: 'small', id: 'settings-summary' });
    this.summary.setAttribute('aria-live', 'polite');
    const rows = FIELDS.map((f) => {
      const input = element('input', { id: f.key, name: f.key, type: 'number', step: f.integer ? '1' : 'any', required: true });
      if (f.min !== undefined) input.min = String(f.min);
      this.inputs.set(f.key, input);
      this.labels.set(f.key, f.label);
      return row(f.key, f.label, input);
    });
    form.append(
      row('preset', 'Preset', this.preset),
      this.description,
      element('div', { className: 'fields' }, ...rows),
      row('criterion', 'Criterion', this.criterion.select),
      this.criterion.note,
      row('recompute', 'Memory', this.recompute.select),
      this.recompute.note,
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
    this.criterion.select.value = String(this.base.config.criterion);
    this.recompute.select.value = this.base.config.recompute;
    for (const choice of [this.criterion, this.recompute]) choice.refresh();
    this.refreshSummary();
  }

  /** The settings as the form stands; throws a SettingsError naming the first bad field by its label. */
  read(): SearchSettings {
    const config: SearchConfig = { ...this.base.config, archBetas: [...this.base.config.archBetas] };
    for (const f of FIELDS) {
      const input = this.inputs.get(f.key)!;
      const raw = input.value.trim();
      const value = Number(raw);
      if (raw === '' || !Number.isFinite(value) || (f.integer && !Number.isInteger(value))) {
        throw new SettingsError(`${f.label}: expected ${f.integer ? 'an integer' : 'a number'}, got '${raw}'`, input);
      }
      (config[f.key] as number) = value;
    }
    config.criterion = Number(this.criterion.select.value) as 1 | 2;
    config.recompute = this.recompute.select.value as RecomputeMode;
    try {
      validateConfig(config);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const label = e.key && this.labels.get(e.key);
      const field = e.key === 'criterion' ? this.criterion.select : e.key === 'recompute' ? this.recompute.select : this.inputs.get(e.key ?? '') ?? null;
      const what = e.message.replace(/^invalid search setting: /, '');
      const named = !label ? e.message : what.startsWith(e.key!) ? label + what.slice(e.key!.length) : `${label}: ${what}`;
      throw new SettingsError(named, field);
    }
    return { preset: this.base.preset, config };
  }

  /**
   * The settings, or null after showing why not: the message in the error colour and the field
   * marked invalid and focused, so a keyboard user lands on it.
   */
  readOrShow(): SearchSettings | null {
    try {
      return this.read();
    } catch (e) {
      this.showError(e as Error);
      if (e instanceof SettingsError) e.field?.focus();
      return null;
    }
  }

  /** The chosen image folder's side and decodable training images (null: the embedded data, sized by the preset). */
  showFolder(folder: { side: number; images: number } | null): void {
    this.folder = folder;
    this.refreshSummary();
  }

  set disabled(value: boolean) {
    for (const control of this.form.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) control.disabled = value;
  }

  private refreshSummary(): void {
    try {
      const { config } = this.read();
      const images = this.folder ? Math.min(config.maxImages || Infinity, this.folder.images) : config.maxImages || 'all';
      const side = this.folder?.side ?? config.imageSize;
      this.showError(null);
      this.summary.textContent = `${searchEpochs(config)} epochs on ${images} images` +
        `${side ? ` at ${side}×${side}` : ''}; ${Math.round(100 * config.trainPortion)}% train the weights, the rest the alphas`;
    } catch (e) {
      this.showError(e as Error);
    }
  }

  private showError(error: Error | null): void {
    showFieldError(this.form, this.summary, error);
  }
}

/** Shows an error in `message`, in the error colour, and marks its field (a SettingsError's) invalid; null clears the marks in `form`. */
export function showFieldError(form: HTMLElement, message: HTMLElement, error: Error | null): void {
  for (const control of form.querySelectorAll('[aria-invalid]')) {
    control.removeAttribute('aria-invalid');
    control.removeAttribute('aria-errormessage');
  }
  message.classList.toggle('error', error !== null);
  if (!error) return;
  message.textContent = error.message;
  if (error instanceof SettingsError && error.field) {
    error.field.setAttribute('aria-invalid', 'true');
    error.field.setAttribute('aria-errormessage', message.id);
  }
}
