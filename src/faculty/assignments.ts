import type { Connection, Model, Types } from 'mongoose';
import { Schema } from 'mongoose';

/** What a course asks of its coaches: each module required or optional, with an optional due date. */
export interface ModuleAssignment {
  moduleId: string;
  required: boolean;
  dueAt: Date | undefined;
}

/**
 * The course's assignment of every catalog module: the stored choice where faculty made one; otherwise a module
 * deep-linked into the course is required and any other optional (with no link at all, every module is optional).
 */
export function effectiveAssignments(
  catalog: readonly string[],
  linked: ReadonlySet<string>,
  stored: readonly ModuleAssignment[] | undefined,
): ModuleAssignment[] {
  return catalog.map((moduleId) => {
    const chosen = stored?.find((a) => a.moduleId === moduleId);
    return chosen ?? { moduleId, required: linked.has(moduleId), dueAt: undefined };
  });
}

interface AssignmentDoc {
  _id: Types.ObjectId;
  courseId: string;
  modules: { moduleId: string; required: boolean; dueAt?: Date | null }[];
  updatedAt: Date;
  updatedBy: string;
}

export function createAssignmentStore(connection: Connection) {
  const schema = new Schema<AssignmentDoc>(
    {
      courseId: { type: String, required: true },
      modules: [{ _id: false, moduleId: String, required: Boolean, dueAt: { type: Date, default: null } }],
      updatedAt: Date,
      updatedBy: String,
    },
    { collection: 'course_assignments', versionKey: false },
  );
  const model: Model<AssignmentDoc> =
    (connection.models.CourseAssignment as Model<AssignmentDoc> | undefined) ?? connection.model<AssignmentDoc>('CourseAssignment', schema);
  return {
    async find(courseId: string): Promise<ModuleAssignment[] | undefined> {
      const doc = await model.findOne({ courseId }).lean<AssignmentDoc>();
      return doc?.modules.map((m) => ({ moduleId: m.moduleId, required: m.required, dueAt: m.dueAt ?? undefined }));
    },
    async save(courseId: string, modules: ModuleAssignment[], by: string, at: Date): Promise<void> {
      await model.updateOne(
        { courseId },
        { $set: { modules: modules.map((m) => ({ ...m, dueAt: m.dueAt ?? null })), updatedAt: at, updatedBy: by } },
        { upsert: true },
      );
    },
  };
}

export type AssignmentStore = ReturnType<typeof createAssignmentStore>;
