/** `*` matches any run of characters; everything else is literal. */
function glob(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\/-]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/**
 * `uplink.events`: an event is forwarded when a pattern matches its type (or
 * `<source>/<Type>`) and no `!pattern` does.
 */
export function eventFilter(patterns: string[]): (source: string, type: string) => boolean {
  const take = patterns.filter((p) => !p.startsWith('!')).map(glob);
  const leave = patterns.filter((p) => p.startsWith('!')).map((p) => glob(p.slice(1)));
  return (source, type) => {
    const hit = (re: RegExp): boolean => re.test(type) || re.test(`${source}/${type}`);
    return take.some(hit) && !leave.some(hit);
  };
}
