"""Upload temporary files orphaned by a web process killed mid-upload are swept: by beat, and once
when a worker starts. A file a live upload is still writing stays."""

import os
import time

from django.conf import settings

from core.sweeps import upload_temp_sweep


def make_file(folder, name: str, *, hours_old: float) -> str:
    path = folder / name
    path.write_bytes(b"part of a 33 MB model upload")
    stamp = time.time() - hours_old * 3600
    os.utime(path, (stamp, stamp))
    return path


def test_the_sweep_removes_old_temporary_upload_files_and_keeps_fresh_ones(tmp_path):
    old = make_file(tmp_path, "tmpa1b2c3.upload.joblib", hours_old=7)
    fresh = make_file(tmp_path, "tmpd4e5f6.upload.csv", hours_old=0.1)
    result = upload_temp_sweep(folder=tmp_path, max_age_hours=6)
    assert not old.exists() and fresh.exists()
    assert (result.removed, result.kept, result.errors) == (["tmpa1b2c3.upload.joblib"], 1, [])


def test_the_sweep_leaves_folders_and_links_alone(tmp_path):
    target = make_file(tmp_path, "kept-target", hours_old=0)
    (tmp_path / "a-folder").mkdir()
    link = tmp_path / "a-link"
    link.symlink_to(target)
    stamp = time.time() - 10 * 3600
    os.utime(tmp_path / "a-folder", (stamp, stamp))
    os.utime(link, (stamp, stamp), follow_symlinks=False)
    assert upload_temp_sweep(folder=tmp_path, max_age_hours=6).removed == []
    assert (tmp_path / "a-folder").is_dir() and link.is_symlink() and target.exists()


def test_the_sweep_uses_the_upload_temp_folder_and_age_from_the_settings(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR, settings.UPLOAD_TEMP_MAX_AGE_HOURS = str(tmp_path), 2
    old, fresh = make_file(tmp_path, "old", hours_old=3), make_file(tmp_path, "fresh", hours_old=1)
    upload_temp_sweep()
    assert not old.exists() and fresh.exists()


def test_a_missing_folder_is_nothing_to_sweep(tmp_path):
    assert upload_temp_sweep(folder=tmp_path / "never-created").removed == []


def test_beat_runs_the_sweep_and_a_starting_worker_runs_it_once(settings, tmp_path):
    from celery.signals import worker_ready

    from core.tasks import _sweep_upload_temp_at_start, upload_temp_sweep_task

    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "core.upload_temp_sweep")
    assert entry["schedule"].total_seconds() <= 3600
    assert upload_temp_sweep_task.name == "core.upload_temp_sweep"
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    old = make_file(tmp_path, "left-by-a-killed-web-process", hours_old=settings.UPLOAD_TEMP_MAX_AGE_HOURS + 1)
    assert _sweep_upload_temp_at_start in worker_ready._live_receivers(None), "connected to worker start"
    _sweep_upload_temp_at_start()  # what worker_ready does when a worker starts
    assert not old.exists()
    old = make_file(tmp_path, "another", hours_old=settings.UPLOAD_TEMP_MAX_AGE_HOURS + 1)
    assert upload_temp_sweep_task.apply().get()["removed"] == ["another"]


def test_the_default_age_is_six_hours():
    assert settings.UPLOAD_TEMP_MAX_AGE_HOURS == 6
