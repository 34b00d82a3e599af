/**
 * NAU7802 24-bit ADC register map (Nuvoton NAU7802 datasheet, "Register Map"
 * and the per-register tables). Shared by the driver and the fake chip in
 * drivers/sim/fake-i2c.ts so both speak the same datasheet.
 */

/** 7-bit I2C address, fixed (datasheet "I2C Serial Interface"). */
export const NAU7802_ADDRESS = 0x2a;

export const REG = {
  PU_CTRL: 0x00,
  CTRL1: 0x01,
  CTRL2: 0x02,
  OCAL1_B2: 0x03,
  GCAL1_B3: 0x06,
  I2C_CONTROL: 0x11,
  ADCO_B2: 0x12,
  ADCO_B1: 0x13,
  ADCO_B0: 0x14,
  /** ADC register; bits 5:4 REG_CHPS (clock chopper), write 0b11 to turn it off. */
  ADC: 0x15,
  PGA: 0x1b,
  /** PGA_PWR; bit 7 PGA_CAP_EN enables the decoupling capacitor on channel 2 (single-channel use). */
  PGA_PWR: 0x1c,
  /** Device revision; the low nibble reads 0xF. */
  REVISION_ID: 0x1f,
} as const;

/** REG 0x00 PU_CTRL bits. */
export const PU = {
  /** Register reset: 1 resets all registers except RR itself. */
  RR: 1 << 0,
  /** Power up digital circuit. */
  PUD: 1 << 1,
  /** Power up analog circuit. */
  PUA: 1 << 2,
  /** Power up ready (read only): set ~200 µs after PUD. */
  PUR: 1 << 3,
  /** Cycle start: begin conversions. */
  CS: 1 << 4,
  /** Cycle ready (read only): a new conversion is in ADCO_B2..B0. */
  CR: 1 << 5,
  /** System clock source select. */
  OSCS: 1 << 6,
  /** AVDD source select: 1 = internal LDO. */
  AVDDS: 1 << 7,
} as const;

/** REG 0x01 CTRL1: GAINS bits 2:0 (x1..x128), VLDO bits 5:3 (4.5 V .. 2.4 V). */
export const GAIN_BITS: Record<number, number> = { 1: 0, 2: 1, 4: 2, 8: 3, 16: 4, 32: 5, 64: 6, 128: 7 };
export const LDO_BITS: Record<string, number> = { '4.5': 0, '4.2': 1, '3.9': 2, '3.6': 3, '3.3': 4, '3': 5, '2.7': 6, '2.4': 7 };

/** REG 0x02 CTRL2 bits. */
export const CTRL2 = {
  /** CALMOD bits 1:0: 00 internal offset, 10 system offset, 11 system gain. */
  CALMOD_MASK: 0b11,
  /** Start calibration; reads 1 until done. */
  CALS: 1 << 2,
  /** Calibration error (read only). */
  CAL_ERR: 1 << 3,
  /** CRS bits 6:4: conversion rate. */
  CRS_SHIFT: 4,
  CRS_MASK: 0b111 << 4,
  /** Channel select. */
  CHS: 1 << 7,
} as const;

/** CTRL2 CRS: samples/s -> field value (10, 20, 40, 80, 320 SPS). */
export const RATE_BITS: Record<number, number> = { 10: 0, 20: 1, 40: 2, 80: 3, 320: 7 };
export const RATE_OF_BITS: Record<number, number> = { 0: 10, 1: 20, 2: 40, 3: 80, 7: 320 };

/** ADCO_B2..B0 hold a 24-bit two's complement result. */
export function signExtend24(b2: number, b1: number, b0: number): number {
  const v = ((b2 & 0xff) << 16) | ((b1 & 0xff) << 8) | (b0 & 0xff);
  return v & 0x800000 ? v - 0x1000000 : v;
}
