/** How many of an execution's tasks are in each of Harbor's task statuses (preheat and webhook executions). */
export interface TaskCounts {
  total: number;
  Pending: number;
  Running: number;
  Success: number;
  Error: number;
  Stopped: number;
}

/** Harbor's Execution.metrics from the counts (Berth schedules no task ahead, so none is Scheduled). */
export function executionMetrics(c: TaskCounts) {
  return {
    task_count: c.total,
    success_task_count: c.Success,
    error_task_count: c.Error,
    pending_task_count: c.Pending,
    running_task_count: c.Running,
    scheduled_task_count: 0,
    stopped_task_count: c.Stopped,
  };
}
