/**
 * Why a topic name or filter as aedes decoded it must be refused, or undefined.
 * mqtt-packet decodes UTF-8 without checking it and puts U+FFFD where bytes were
 * ill-formed, so a topic holding U+FFFD is refused as ill-formed: no laned topic
 * holds that character.
 */
export function topicProblem(topic: string): string | undefined {
  // [MQTT-1.5.3-2] a UTF-8 string must not include U+0000
  if (topic.includes('\u0000')) return 'holds U+0000 [MQTT-1.5.3-2]';
  // [MQTT-1.5.3-1] ill-formed UTF-8 closes the connection
  if (topic.includes('\uFFFD')) return 'is not well-formed UTF-8 [MQTT-1.5.3-1]';
  return undefined;
}
