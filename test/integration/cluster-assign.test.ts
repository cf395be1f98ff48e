import { describe, expect, it } from 'vitest';
import { assignTasks } from '../../src/cluster/assign.js';

const tasks = (n: number, weight = 1) => Array.from({ length: n }, (_, i) => ({ name: `t${i + 1}`, weight }));
const sizes = (a: Map<string, string[]>) => [...a.values()].map((l) => l.length).sort();

describe('cluster task assignment', () => {
  it('spreads tasks evenly over new members', () => {
    const a = assignTasks([{ memberId: 'a', tasks: [] }, { memberId: 'b', tasks: [] }, { memberId: 'c', tasks: [] }], tasks(6));
    expect(sizes(a)).toEqual([2, 2, 2]);
    expect(new Set([...a.values()].flat()).size).toBe(6);
  });

  it('is sticky: a member that left only gives up its own tasks', () => {
    const a = assignTasks([{ memberId: 'b', tasks: ['t3', 't4'] }, { memberId: 'c', tasks: ['t5', 't6'] }], tasks(6));
    expect(a.get('b')).toEqual(expect.arrayContaining(['t3', 't4']));
    expect(a.get('c')).toEqual(expect.arrayContaining(['t5', 't6']));
    expect(sizes(a)).toEqual([3, 3]);
  });

  it('a new member takes a fair share with the fewest moves', () => {
    const a = assignTasks([{ memberId: 'b', tasks: ['t1', 't2', 't3'] }, { memberId: 'c', tasks: ['t4', 't5', 't6'] }, { memberId: 'd', tasks: [] }], tasks(6));
    expect(sizes(a)).toEqual([2, 2, 2]);
    const kept = [...(a.get('b') ?? []), ...(a.get('c') ?? [])].filter((t) => ['t1', 't2', 't3', 't4', 't5', 't6'].includes(t));
    expect(kept).toHaveLength(4); // exactly two moved
  });

  it('spreads by weight and drops removed tasks; a task claimed twice stays with one member', () => {
    const a = assignTasks(
      [{ memberId: 'a', tasks: ['big', 'gone'] }, { memberId: 'b', tasks: ['big'] }],
      [{ name: 'big', weight: 4 }, { name: 's1' }, { name: 's2' }, { name: 's3' }, { name: 's4' }],
    );
    expect(a.get('a')).toEqual(['big']);
    expect(a.get('b')).toEqual(['s1', 's2', 's3', 's4']);
  });

  it('with no member, assigns nothing', () => {
    expect(assignTasks([], tasks(3)).size).toBe(0);
  });
});
