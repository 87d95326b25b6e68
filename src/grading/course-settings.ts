import { Schema, type Connection, type Model } from 'mongoose';

/** Per course: which competency columns faculty chose not to sync (default: all 13 sync). */
export interface CourseGradingSettings {
  disabledCompetencies(courseId: string): Promise<Set<string>>;
  setDisabled(courseId: string, competencyIds: string[], by: string): Promise<void>;
}

export function createCourseGradingSettings(connection: Connection): CourseGradingSettings {
  interface SettingsDoc {
    courseId: string;
    disabled: string[];
    updatedBy: string;
    updatedAt: Date;
  }
  const model: Model<SettingsDoc> =
    (connection.models.CourseGradingSettings as Model<SettingsDoc> | undefined) ??
    connection.model<SettingsDoc>(
      'CourseGradingSettings',
      new Schema<SettingsDoc>(
        { courseId: String, disabled: [String], updatedBy: String, updatedAt: Date },
        { collection: 'course_grading_settings', versionKey: false },
      ),
    );
  return {
    async disabledCompetencies(courseId) {
      const doc = await model.findOne({ courseId }).lean<SettingsDoc>();
      return new Set(doc?.disabled ?? []);
    },
    async setDisabled(courseId, competencyIds, by) {
      await model.updateOne(
        { courseId },
        { $set: { disabled: [...new Set(competencyIds)].sort(), updatedBy: by, updatedAt: new Date() } },
        { upsert: true },
      );
    },
  };
}
