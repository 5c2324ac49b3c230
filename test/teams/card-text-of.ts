import type { AdaptiveCard, CardElement } from "../../shared/teams/adaptive-card";

/** Every text on the card, in order (facts as `title: value`, actions as links), for content assertions. */
export function cardText(card: AdaptiveCard): string {
  const out: string[] = [];
  const walk = (elements: CardElement[]) => {
    for (const e of elements) {
      if (e.type === "TextBlock") out.push(e.text);
      else if (e.type === "FactSet") for (const f of e.facts) out.push(`${f.title}: ${f.value}`);
      else walk(e.items);
    }
  };
  walk(card.body);
  for (const a of card.actions ?? []) out.push(`[${a.title}](${a.url})`);
  return out.join("\n");
}
