/**
 * The plan's data: per-year targets (which plan, the target, how it is compared, the unit) and
 * the values the bureau enters for the indicators the registry does not count itself, each
 * with its history. One document per year and indicator (`_id` "2026:rd_intensity").
 */
import mongoose, { Schema, type InferSchemaType } from 'mongoose';
import { COMPARISONS, INDICATOR_UNITS } from '../../domain/indicators';

export const rowId = (year: number, key: string) => `${year}:${key}`;

const planTargetSchema = new Schema(
  {
    _id: { type: String, required: true },
    /** The plan the target belongs to, e.g. 十四五, 十五五. */
    plan: { type: String, required: true },
    year: { type: Number, required: true },
    key: { type: String, required: true },
    /** A decimal string with at most two places (yuan for the turnover). */
    target: { type: String, required: true },
    comparison: { type: String, required: true, enum: COMPARISONS },
    unit: { type: String, required: true, enum: INDICATOR_UNITS },
    updatedAt: { type: Date, default: null },
    updatedBy: { type: String, default: null },
  },
  { versionKey: false },
);
/** The latest year with targets at or before a year (carrying forward), and a year's set. */
planTargetSchema.index({ year: -1, key: 1 });

const figureSchema = new Schema(
  { value: { type: String, required: true }, source: { type: String, required: true }, asOf: { type: String, required: true } },
  { _id: false },
);

const changeSchema = new Schema(
  {
    at: { type: Date, required: true },
    actorId: { type: String, default: null },
    actorEmail: { type: String, default: null },
    old: { type: figureSchema, default: null },
    new: { type: figureSchema, required: true },
  },
  { _id: false },
);

const indicatorValueSchema = new Schema(
  {
    _id: { type: String, required: true },
    year: { type: Number, required: true },
    key: { type: String, required: true },
    /** The value as given: a decimal string with at most two places. */
    value: { type: String, required: true },
    source: { type: String, required: true },
    /** YYYY-MM-DD (CST): the date the value stands at. */
    asOf: { type: String, required: true },
    updatedAt: { type: Date, required: true },
    updatedBy: { type: String, default: null },
    /** Bumped by every change: a change applies only to the version it was computed from. */
    version: { type: Number, required: true },
    /** Every change, oldest first: who, when, old → new (with its source). */
    history: { type: [changeSchema], default: [] },
  },
  { versionKey: false },
);
/** The values of a span of years (the trends), and a year's values. */
indicatorValueSchema.index({ year: 1, key: 1 });

export const PlanTarget = mongoose.model('PlanTarget', planTargetSchema);
export const IndicatorValue = mongoose.model('IndicatorValue', indicatorValueSchema);
export type PlanTargetDoc = InferSchemaType<typeof planTargetSchema>;
export type IndicatorValueDoc = InferSchemaType<typeof indicatorValueSchema>;
export type IndicatorChange = InferSchemaType<typeof changeSchema>;
