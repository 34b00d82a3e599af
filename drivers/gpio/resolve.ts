/**
 * BCM GPIO number -> sysfs GPIO number: base of the SoC's gpiochip + offset,
 * read from <sysfs>/gpiochip*\/label and base (Documentation/ABI/obsolete/sysfs-gpio).
 * Never hard-coded: kernel 6.6 moved the Raspberry Pi bases from 0 to 512+, and
 * the Pi 5's header pins sit on the RP1 ("pinctrl-rp1"), not on the BCM2712.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Labels of the chip carrying the 40-pin header GPIOs, most specific first. */
export const HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

export interface ResolvedLine {
  bcm: number;
  sysfs: number;
  chip: string;
  label: string;
  base: number;
}

export interface GpioChip {
  chip: string;
  label: string;
  base: number;
  ngpio: number;
}

export async function listChips(sysfsRoot: string): Promise<GpioChip[]> {
  let names: string[];
  try {
    names = (await readdir(sysfsRoot)).filter((n) => /^gpiochip\d+$/.test(n));
  } catch (err) {
    throw new Error(`cannot read ${sysfsRoot}: ${(err as Error).message} (kernel without CONFIG_GPIO_SYSFS?)`, { cause: err });
  }
  const chips: GpioChip[] = [];
  for (const chip of names) {
    try {
      const [label, base, ngpio] = await Promise.all(['label', 'base', 'ngpio'].map((f) => readFile(join(sysfsRoot, chip, f), 'utf8').then((s) => s.trim())));
      chips.push({ chip, label, base: Number(base), ngpio: Number(ngpio) });
    } catch {
      // a chip without readable attributes is not one we can use
    }
  }
  return chips.sort((a, b) => a.base - b.base);
}

export async function resolveBcm(sysfsRoot: string, bcm: number, chipLabel?: string): Promise<ResolvedLine> {
  const chips = await listChips(sysfsRoot);
  const wanted = chipLabel ? [chipLabel] : HEADER_CHIP_LABELS;
  const chip = wanted.map((l) => chips.find((c) => c.label === l)).find((c) => c !== undefined);
  if (!chip) {
    const found = chips.map((c) => `${c.chip} "${c.label}"`).join(', ') || 'none';
    throw new Error(`no gpiochip labelled ${wanted.join(' or ')} under ${sysfsRoot} (found: ${found}); set chipLabel in the device config`);
  }
  if (!Number.isInteger(chip.base) || bcm < 0 || bcm >= chip.ngpio) {
    throw new Error(`BCM ${bcm} is outside ${chip.chip} "${chip.label}" (lines 0..${chip.ngpio - 1})`);
  }
  return { bcm, sysfs: chip.base + bcm, chip: chip.chip, label: chip.label, base: chip.base };
}
