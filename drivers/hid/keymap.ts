/**
 * US keyboard layout: key code (linux/input-event-codes.h) -> [plain, shifted].
 * A keyboard-wedge scanner types each character as key presses of this layout.
 */
export const KEY_ENTER = 28;
export const KEY_KPENTER = 96;
export const KEY_TAB = 15;
export const KEY_LEFTSHIFT = 42;
export const KEY_RIGHTSHIFT = 54;
export const KEY_LEFTCTRL = 29;
export const KEY_RIGHTCTRL = 97;
export const KEY_RIGHTBRACE = 27;
export const KEY_CAPSLOCK = 58;

export const US_KEYMAP: Record<number, [string, string]> = {
  2: ['1', '!'],
  3: ['2', '@'],
  4: ['3', '#'],
  5: ['4', '$'],
  6: ['5', '%'],
  7: ['6', '^'],
  8: ['7', '&'],
  9: ['8', '*'],
  10: ['9', '('],
  11: ['0', ')'],
  12: ['-', '_'],
  13: ['=', '+'],
  16: ['q', 'Q'],
  17: ['w', 'W'],
  18: ['e', 'E'],
  19: ['r', 'R'],
  20: ['t', 'T'],
  21: ['y', 'Y'],
  22: ['u', 'U'],
  23: ['i', 'I'],
  24: ['o', 'O'],
  25: ['p', 'P'],
  26: ['[', '{'],
  27: [']', '}'],
  30: ['a', 'A'],
  31: ['s', 'S'],
  32: ['d', 'D'],
  33: ['f', 'F'],
  34: ['g', 'G'],
  35: ['h', 'H'],
  36: ['j', 'J'],
  37: ['k', 'K'],
  38: ['l', 'L'],
  39: [';', ':'],
  40: ["'", '"'],
  41: ['`', '~'],
  43: ['\\', '|'],
  44: ['z', 'Z'],
  45: ['x', 'X'],
  46: ['c', 'C'],
  47: ['v', 'V'],
  48: ['b', 'B'],
  49: ['n', 'N'],
  50: ['m', 'M'],
  51: [',', '<'],
  52: ['.', '>'],
  53: ['/', '?'],
  57: [' ', ' '],
  // keypad (NumLock on, as scanners assume)
  55: ['*', '*'],
  71: ['7', '7'],
  72: ['8', '8'],
  73: ['9', '9'],
  74: ['-', '-'],
  75: ['4', '4'],
  76: ['5', '5'],
  77: ['6', '6'],
  78: ['+', '+'],
  79: ['1', '1'],
  80: ['2', '2'],
  81: ['3', '3'],
  82: ['0', '0'],
  83: ['.', '.'],
  98: ['/', '/'],
};

/** Reverse map for the simulated wedge: character -> [code, shifted]. */
export function keyFor(ch: string): [number, boolean] | undefined {
  for (const [code, [plain, shifted]] of Object.entries(US_KEYMAP)) {
    const c = Number(code);
    if (c >= 55 && c !== 57) continue; // type with the main block, like a wedge does
    if (plain === ch) return [c, false];
    if (shifted === ch) return [c, true];
  }
  return undefined;
}
