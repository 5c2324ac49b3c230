/**
 * The slice of Adaptive Cards 1.4 the notification cards use. Typed so a card can only hold
 * elements Teams renders and only `Action.OpenUrl` actions: a notification links, it never
 * asks Teams to call back (Workflows webhooks have no bot to receive a submit).
 */
export type ContainerStyle = "default" | "emphasis" | "good" | "attention" | "warning" | "accent";
export type TextColor = "default" | "dark" | "light" | "accent" | "good" | "warning" | "attention";
export type Spacing = "none" | "small" | "default" | "medium" | "large" | "extraLarge" | "padding";

export interface TextBlock {
  type: "TextBlock";
  text: string;
  wrap?: boolean;
  size?: "small" | "default" | "medium" | "large" | "extraLarge";
  weight?: "lighter" | "default" | "bolder";
  color?: TextColor;
  isSubtle?: boolean;
  spacing?: Spacing;
  separator?: boolean;
}

export interface Fact {
  title: string;
  value: string;
}

export interface FactSet {
  type: "FactSet";
  facts: Fact[];
  spacing?: Spacing;
  separator?: boolean;
}

export interface Container {
  type: "Container";
  items: CardElement[];
  style?: ContainerStyle;
  bleed?: boolean;
  spacing?: Spacing;
  separator?: boolean;
}

export type CardElement = TextBlock | FactSet | Container;

export interface OpenUrlAction {
  type: "Action.OpenUrl";
  title: string;
  url: string;
}

export const adaptiveCardSchemaUrl = "http://adaptivecards.io/schemas/adaptive-card.json";

export interface AdaptiveCard {
  type: "AdaptiveCard";
  $schema: typeof adaptiveCardSchemaUrl;
  version: "1.4";
  /** Shown by clients that cannot render the card, and in some notification previews. */
  fallbackText?: string;
  body: CardElement[];
  actions?: OpenUrlAction[];
}
