# unmix image: `docker build -t unmix/unmix .` (CPU) or
# `docker build --build-arg BASE=tensorflow/tensorflow:2.21.0-gpu --build-arg TF_PACKAGE="tensorflow[and-cuda]==2.21.*" -t unmix/unmix:gpu .`
# Run: docker run --rm -v "$PWD:/data" unmix/unmix predict.py --song /data/x.mp3 --output /data/separated
ARG BASE=python:3.11-slim-bookworm
FROM ${BASE}
ARG TF_PACKAGE=""

RUN apt-get update && apt-get install -y --no-install-recommends ffmpeg graphviz git \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /opt/unmix
COPY requirements.txt pyproject.toml README.md ./
RUN pip install --no-cache-dir -r requirements.txt \
    && if [ -n "$TF_PACKAGE" ]; then pip uninstall -y tensorflow-cpu && pip install --no-cache-dir "$TF_PACKAGE"; fi
COPY unmix ./unmix
COPY configurations ./configurations
COPY train.py predict.py docker-entrypoint.py ./
RUN pip install --no-cache-dir --no-deps -e .
# The pretrained default model, converted at build time into the image (the download is dropped),
# and both built-in networks exported for OpenVINO (a CPU container then never imports TensorFlow).
ENV UNMIX_MODELS_DIR=/opt/unmix/models
RUN python3 -m unmix.pretrained install spleeter-2stems \
    && python3 -m unmix.pretrained export \
    && rm -rf /opt/unmix/models/downloads

WORKDIR /data
ENTRYPOINT ["python3", "/opt/unmix/docker-entrypoint.py"]
CMD ["predict.py", "--help"]
