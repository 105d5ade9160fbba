from shipline.tasks import namespace
